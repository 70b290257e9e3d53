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
        // The holder is named by pid (this process holds it).
        Assert.Contains($"pid {Environment.ProcessId}", writer.Message);
        // A reader does not wait behind the writer: it reads a checked snapshot without the lock.
        using (var reader = scenario.Open(timeout: TimeSpan.Zero))
        {
            Assert.False(reader.IsWritable);
            Assert.Empty(reader.Bindings());
            Assert.Null(reader.InterruptedWrite);
        }
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

    /// <summary>
    /// Readers list while a writer replaces the whole set again and again, without the lock and without waiting: every
    /// listing is one whole set, never a mix, and the labels of its bindings are known.
    /// </summary>
    [Fact]
    public void ReadersSeeWholeSetsWithoutWaitingBehindAWriter()
    {
        using var scenario = new Scenario();
        List<Binding> Set(string label, int count, int third) => Enumerable.Range(0, count)
            .Select(i => Scenario.B(label, i % 2 == 0 ? "tcp" : "udp", $"10.{third}.{i / 250}.{i % 250 + 1}", "80"))
            .Concat([Scenario.B(label, "tcp", $"2001:db8:{third}::/64", "any")]).ToList();
        var first = Set("first", 3000, 1);
        var second = Set("second", 2000, 2);
        scenario.D.ReplaceBindings(first, dryRun: false);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var done = false;
        var writer = new Thread(() =>
        {
            try
            {
                for (var round = 0; round < 6; round++)
                    scenario.D.ReplaceBindings(round % 2 == 0 ? second : first, dryRun: false);
            }
            catch (Exception exception)
            {
                failures.Enqueue($"writer: {exception.Message}");
            }
            Volatile.Write(ref done, true);
        });
        var snapshots = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        writer.Start();
        while (!Volatile.Read(ref done))
        {
            using var reader = scenario.Open(timeout: TestTiming.Scale(TimeSpan.FromSeconds(5)));
            var listed = reader.Bindings();
            if (!(listed.SequenceEqual(BindingTable.Sort(first)) || listed.SequenceEqual(BindingTable.Sort(second))))
                failures.Enqueue($"a reader listed {listed.Count} bindings, labels {string.Join(",", listed.Select(b => b.Label).Distinct())}: neither whole set");
            snapshots++;
        }
        writer.Join();
        Assert.Empty(failures);
        Assert.True(snapshots > 0);
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
