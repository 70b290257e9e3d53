using System.Net;
using System.Net.Sockets;
using SkLookup.Bpf.Interop;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests.Sockets;

/// <summary>
/// systemd socket activation. Descriptors 3 and up belong to the test host, so real sockets are passed at
/// free descriptors through the internal overload that takes the first descriptor.
/// </summary>
public sealed class SystemdSocketsTests
{
    private const int Pid = 4242;

    [Fact]
    public void PassedSocketsAreNamedDescribedAndCloseOnExec()
    {
        using var netns = new TestNetNs();
        using var web = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var dns = netns.BindUdp(new IPEndPoint(IPAddress.IPv6Loopback, 5353));
        var first = PassConsecutively(web, dns);

        var sockets = SystemdSockets.Listen(Environment(Pid, "2", "web:dns"), Pid, first);
        try
        {
            Assert.Equal(["web", "dns"], sockets.Select(socket => socket.Name));
            Assert.Equal([first, first + 1], sockets.Select(socket => socket.Fd));
            Assert.Equal(SocketDescription.Describe(web), sockets[0].Description);
            Assert.Equal(SocketDescription.Describe(dns), sockets[1].Description);
            Assert.All(sockets, socket => Assert.Equal(LibC.FD_CLOEXEC, LibC.Fcntl(socket.Fd, LibC.F_GETFD, 0) & LibC.FD_CLOEXEC));
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    [Fact]
    public void PassedListenerWorksAsADotNetSocket()
    {
        using var netns = new TestNetNs();
        using var web = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        var first = PassConsecutively(web);
        var passed = Assert.Single(SystemdSockets.Listen(Environment(Pid, "1", null), Pid, first));

        using var listener = passed.ToSocket();
        using var client = netns.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.Loopback, 8080));
        using var accepted = listener.Accept();

        Assert.Equal("unknown", passed.Name);
        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
    }

    [Fact]
    public void PassedNonSocketHasNoDescription()
    {
        using var file = FileDescriptor.OpenReadOnly("/proc/self/stat");
        var copy = LibC.Fcntl(file.Value, F_DUPFD, 2000);
        Assert.True(copy >= 0);

        using var passed = Assert.Single(SystemdSockets.Listen(Environment(Pid, "1", "stats"), Pid, copy));

        Assert.Null(passed.Description);
        Assert.Equal("stats (fd " + copy + "): not a socket", passed.ToString());
    }

    [Fact]
    public void NoVariablesMeanNoSockets()
    {
        Assert.Empty(SystemdSockets.ParseEnvironment(new Dictionary<string, string>(), Pid));
        Assert.Empty(SystemdSockets.ParseEnvironment(new Dictionary<string, string> { ["LISTEN_PID"] = $"{Pid}" }, Pid));
    }

    [Fact]
    public void VariablesForAnotherProcessMeanNoSockets()
    {
        Assert.Empty(SystemdSockets.ParseEnvironment(Environment(Pid + 1, "2", "a:b"), Pid));
    }

    [Fact]
    public void ZeroDescriptorsMeanNoSockets()
    {
        Assert.Empty(SystemdSockets.ParseEnvironment(Environment(Pid, "0", null), Pid));
    }

    [Fact]
    public void MissingNamesAreUnknown()
    {
        Assert.Equal(["unknown", "unknown", "unknown"], SystemdSockets.ParseEnvironment(Environment(Pid, "3", null), Pid));
    }

    [Fact]
    public void EmptyNamesAreKept()
    {
        Assert.Equal(["web", "", "dns"], SystemdSockets.ParseEnvironment(Environment(Pid, "3", "web::dns"), Pid));
    }

    [Theory]
    [InlineData("abc", "2", "a:b", "LISTEN_PID=abc")]
    [InlineData("{pid}", "two", "a:b", "LISTEN_FDS=two")]
    [InlineData("{pid}", "-1", "a:b", "LISTEN_FDS=-1")]
    [InlineData("{pid}", "2", "a:b:c", "LISTEN_FDNAMES has 3 names but LISTEN_FDS=2")]
    public void MalformedVariablesAreAClearError(string pid, string count, string names, string problem)
    {
        var environment = new Dictionary<string, string>
        {
            ["LISTEN_PID"] = pid.Replace("{pid}", $"{Pid}"),
            ["LISTEN_FDS"] = count,
            ["LISTEN_FDNAMES"] = names,
        };

        var error = Assert.Throws<BpfException>(() => SystemdSockets.ParseEnvironment(environment, Pid));

        Assert.Equal(BpfErrorReason.InvalidArgument, error.Reason);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void DescriptorThatIsNotOpenIsAnError()
    {
        var error = Assert.Throws<BpfException>(() => SystemdSockets.Listen(Environment(Pid, "1", null), Pid, int.MaxValue));

        Assert.Equal(BpfErrorReason.BadFileDescriptor, error.Reason);
    }

    [Fact]
    public void ListenOnThisProcessIgnoresAndUnsetsVariablesForAnotherProcess()
    {
        // The test host was not socket-activated; variables naming another pid must be ignored, then removed.
        System.Environment.SetEnvironmentVariable("LISTEN_PID", $"{System.Environment.ProcessId + 1}");
        System.Environment.SetEnvironmentVariable("LISTEN_FDS", "1");
        System.Environment.SetEnvironmentVariable("LISTEN_FDNAMES", "web");

        var sockets = SystemdSockets.Listen(unsetEnvironment: true);

        Assert.Empty(sockets);
        Assert.Null(System.Environment.GetEnvironmentVariable("LISTEN_PID"));
        Assert.Null(System.Environment.GetEnvironmentVariable("LISTEN_FDS"));
        Assert.Null(System.Environment.GetEnvironmentVariable("LISTEN_FDNAMES"));
    }

    private const int F_DUPFD = 0;

    private static Dictionary<string, string> Environment(int pid, string count, string? names)
    {
        var environment = new Dictionary<string, string> { ["LISTEN_PID"] = $"{pid}", ["LISTEN_FDS"] = count };
        if (names is not null)
            environment["LISTEN_FDNAMES"] = names;
        return environment;
    }

    /// <summary>
    /// Duplicates the sockets to consecutive free descriptors without close-on-exec, as systemd passes
    /// them, and returns the first. The copies belong to whatever Listen returns.
    /// </summary>
    private static int PassConsecutively(params Socket[] sockets)
    {
        var start = 2000;
        while (true)
        {
            var copies = new List<int>();
            foreach (var socket in sockets)
            {
                var copy = LibC.Fcntl((int)socket.Handle, F_DUPFD, copies.Count == 0 ? start : copies[0] + copies.Count);
                Assert.True(copy >= 0);
                copies.Add(copy);
            }
            if (copies[^1] == copies[0] + copies.Count - 1)
                return copies[0];
            // Another thread holds a descriptor in the range: try above it.
            foreach (var copy in copies)
                LibC.Close(copy);
            start = copies[^1] + 1;
        }
    }
}
