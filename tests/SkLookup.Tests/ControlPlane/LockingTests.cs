using SkLookup.TestKit;

namespace SkLookup.Tests.ControlPlane;

/// <summary>Writers exclude each other and readers; a lock held too long is reported, not waited on forever.</summary>
public sealed class LockingTests
{
    [Fact]
    public void ConcurrentWritersAreSerialisedAndBothSucceed()
    {
        using var scenario = new Scenario();
        scenario.Close();
        const int PerWriter = 20;
        using var start = new Barrier(2);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var writers = Enumerable.Range(0, 2).Select(writer => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                for (var i = 0; i < PerWriter; i++)
                {
                    using var d = scenario.Open(write: true, timeout: TestTiming.Scale(TimeSpan.FromSeconds(30)));
                    d.AddBinding(Scenario.B($"w{writer}", "tcp", $"198.51.{100 + writer}.{i}", "80"));
                }
            }
            catch (Exception exception)
            {
                failures.Enqueue(exception);
            }
        })).ToList();
        foreach (var thread in writers)
            thread.Start();
        foreach (var thread in writers)
            thread.Join();
        Assert.Empty(failures);
        using var reader = scenario.Open();
        var bindings = reader.Bindings();
        Assert.Equal(2 * PerWriter, bindings.Count);
        Assert.Equal(PerWriter, bindings.Count(b => b.Label == "w0"));
    }

    [Fact]
    public void HeldWriterLockTimesOut()
    {
        using var scenario = new Scenario();
        var timeout = TimeSpan.FromMilliseconds(200);
        var writer = Assert.Throws<SteeringException>(() => scenario.Open(write: true, timeout: timeout));
        Assert.Equal(SteeringError.LockTimeout, writer.Error);
        Assert.Contains("another sklookup command holds the lock", writer.Message);
        Assert.Contains(scenario.StatePath, writer.Message);
        var reader = Assert.Throws<SteeringException>(() => scenario.Open(timeout: timeout));
        Assert.Equal(SteeringError.LockTimeout, reader.Error);
        // Load and unload wait for the holder too.
        Assert.Equal(SteeringError.LockTimeout, Assert.Throws<SteeringException>(() => Dispatcher.Load(scenario.NetNs.Namespace, scenario.BpfFs.Path, timeout)).Error);
        Assert.Equal(SteeringError.LockTimeout, Assert.Throws<SteeringException>(() => Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path, timeout)).Error);
    }

    [Fact]
    public void ReadersShareAndExcludeWriters()
    {
        using var scenario = new Scenario();
        scenario.Close();
        using var first = scenario.Open();
        using var second = scenario.Open(timeout: TimeSpan.Zero);
        Assert.Equal(SteeringError.LockTimeout, Assert.Throws<SteeringException>(() => scenario.Open(write: true, timeout: TimeSpan.FromMilliseconds(100))).Error);
        first.Dispose();
        second.Dispose();
        using var writer = scenario.Open(write: true, timeout: TimeSpan.Zero);
        Assert.True(writer.IsWritable);
    }

    [Fact]
    public void OpenAfterUnloadWhileWaitingIsNotLoaded()
    {
        using var scenario = new Scenario();
        Exception? failure = null;
        var waiter = new Thread(() => failure = Record.Exception(() => scenario.Open(write: true, timeout: TestTiming.Scale(TimeSpan.FromSeconds(30))).Dispose()));
        waiter.Start();
        Thread.Sleep(200); // Let it start waiting on the lock the scenario's writer holds.
        scenario.Close();
        Dispatcher.Unload(scenario.NetNs.Namespace, scenario.BpfFs.Path);
        waiter.Join();
        // Either it got the lock before the unload (and then saw the state), or it finds nothing to open.
        if (failure is not null)
            Assert.Equal(SteeringError.NotLoaded, Assert.IsType<SteeringException>(failure).Error);
    }
}
