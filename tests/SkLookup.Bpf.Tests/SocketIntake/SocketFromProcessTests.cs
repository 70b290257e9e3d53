using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Bpf.Tests.Sockets;

/// <summary>Sockets are taken out of another, real process with pidfd_getfd.</summary>
public sealed class SocketFromProcessTests
{
    [Fact]
    public void TakesTheListenerOfAnotherProcess()
    {
        using var netns = new TestNetNs();
        using var child = ChildListener.Start(netns, port: 8080);

        using var taken = SocketFromProcess.Take(child.Pid, child.Fd);
        var description = SocketDescription.Describe(taken);

        Assert.True(description.IsListening);
        Assert.Equal(ProtocolType.Tcp, description.Protocol);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), description.LocalEndPoint);
        Assert.Equal(netns.Namespace.Inode, description.NetNsInode);
        // The same kernel socket: the cookie the child read itself, and the inode /proc shows for its fd.
        Assert.Equal(child.Cookie, description.Cookie);
        Assert.Equal($"socket:[{InodeOf(taken)}]", new FileInfo($"/proc/{child.Pid}/fd/{child.Fd}").LinkTarget);
    }

    [Fact]
    public void TakenListenerAcceptsConnectionsAsADotNetSocket()
    {
        using var netns = new TestNetNs();
        using var child = ChildListener.Start(netns, port: 8080);
        using var listener = SocketHandles.ToSocket(SocketFromProcess.Take(child.Pid, child.Fd));
        using var client = netns.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        client.Connect(new IPEndPoint(IPAddress.Loopback, 8080));
        using var accepted = listener.Accept();

        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
    }

    [Fact]
    public void FindLocatesTheListenerByPredicate()
    {
        using var netns = new TestNetNs();
        using var child = ChildListener.Start(netns, port: 8080);

        var found = SocketFromProcess.Find(child.Pid, socket => socket.IsListening && socket.LocalEndPoint?.Port == 8080);
        try
        {
            var socket = Assert.Single(found);
            Assert.Equal(child.Pid, socket.ProcessId);
            Assert.Equal(child.Fd, socket.Fd);
            Assert.Equal(child.Cookie, socket.Description.Cookie);
            Assert.Equal(child.Cookie, SocketCookie.Read(socket.Handle));
            Assert.Empty(SocketFromProcess.Find(child.Pid, socket => socket.LocalEndPoint?.Port == 9999));
        }
        finally
        {
            foreach (var socket in found)
                socket.Dispose();
        }
    }

    [Fact]
    public void FindReportsASocketHeldUnderTwoDescriptorsOnce()
    {
        using var netns = new TestNetNs();
        using var listener = netns.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        using var copy = SocketHandles.Duplicate(listener);
        var cookie = SocketCookie.Read(listener);

        var found = SocketFromProcess.Find(Environment.ProcessId, socket => socket.Cookie == cookie);
        try
        {
            var socket = Assert.Single(found);
            Assert.Equal(Math.Min((int)listener.Handle, copy.Value), socket.Fd);
        }
        finally
        {
            foreach (var socket in found)
                socket.Dispose();
        }
    }

    [Fact]
    public void MissingProcessIsReportedAsNotFound()
    {
        // Above any pid_max (at most 2^22), so no process has it.
        const int NoSuchPid = int.MaxValue;

        var take = Assert.Throws<BpfException>(() => SocketFromProcess.Take(NoSuchPid, 3));
        var find = Assert.Throws<BpfException>(() => SocketFromProcess.Find(NoSuchPid, _ => true));

        Assert.Equal(BpfErrorReason.NotFound, take.Reason);
        Assert.Equal(Errno.ESRCH, take.Errno);
        Assert.Contains("no such process", take.Message);
        Assert.Equal(BpfErrorReason.NotFound, find.Reason);
    }

    [Fact]
    public void MissingDescriptorIsReportedAsBadFileDescriptor()
    {
        var error = Assert.Throws<BpfException>(() => SocketFromProcess.Take(Environment.ProcessId, int.MaxValue));

        Assert.Equal(BpfErrorReason.BadFileDescriptor, error.Reason);
        Assert.Contains("no such descriptor", error.Message);
    }

    [Fact]
    public void NonSocketDescriptorIsReportedAsWrongSocket()
    {
        using var file = FileDescriptor.OpenReadOnly("/proc/self/stat");

        var error = Assert.Throws<BpfException>(() => SocketFromProcess.Take(Environment.ProcessId, file.Value));

        Assert.Equal(BpfErrorReason.WrongSocket, error.Reason);
        Assert.Contains("is not a socket", error.Message);
    }

    [Theory]
    [InlineData("socket:[12345]", true, 12345UL)]
    [InlineData("socket:[]", false, 0UL)]
    [InlineData("pipe:[12345]", false, 0UL)]
    [InlineData("/dev/null", false, 0UL)]
    [InlineData(null, false, 0UL)]
    public void ParsesSocketLinks(string? target, bool isSocket, ulong inode)
    {
        Assert.Equal(isSocket, SocketFromProcess.TryParseSocketLink(target, out var parsed));
        Assert.Equal(inode, parsed);
    }

    private static ulong InodeOf(FileDescriptor fd)
    {
        Assert.Equal(0, Interop.LibC.Fstat(fd.Value, out var stat));
        return stat.Inode;
    }

    /// <summary>
    /// A python3 process that listens on 127.0.0.1:PORT inside a test namespace (entered with nsenter
    /// through this process's handle on it), reports its pid, fd and cookie, and lives until disposed.
    /// </summary>
    private sealed class ChildListener : IDisposable
    {
        private const string Script = """
            import os, socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", int(sys.argv[1])))
            s.listen(8)
            cookie = int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 57, 8), "little")
            print(os.getpid(), s.fileno(), cookie, flush=True)
            sys.stdin.read()
            """;

        // Starting python3 takes seconds on a loaded machine (the CPU is shared); that is not what the tests measure.
        private static readonly TimeSpan StartTimeout = TestTiming.Scale(TimeSpan.FromSeconds(30));

        private readonly Process _process;

        private ChildListener(Process process, int pid, int fd, ulong cookie)
        {
            _process = process;
            Pid = pid;
            Fd = fd;
            Cookie = cookie;
        }

        public int Pid { get; }
        public int Fd { get; }
        public ulong Cookie { get; }

        public static ChildListener Start(TestNetNs netns, int port)
        {
            var start = new ProcessStartInfo("nsenter")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add($"--net=/proc/{Environment.ProcessId}/fd/{netns.Namespace.Handle.Value}");
            start.ArgumentList.Add("python3");
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(Script);
            start.ArgumentList.Add(port.ToString());
            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start nsenter");
            try
            {
                var line = process.StandardOutput.ReadLineAsync().WaitAsync(StartTimeout).GetAwaiter().GetResult()
                    ?? throw new InvalidOperationException($"the child listener exited: {process.StandardError.ReadToEnd()}");
                var fields = line.Split(' ');
                return new ChildListener(process, int.Parse(fields[0]), int.Parse(fields[1]), ulong.Parse(fields[2]));
            }
            catch
            {
                Stop(process);
                throw;
            }
        }

        public void Dispose() => Stop(_process);

        private static void Stop(Process process)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(Traffic.Timeout);
            }
            catch (InvalidOperationException)
            {
                // Exited already.
            }
            process.Dispose();
        }
    }
}
