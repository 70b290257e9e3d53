using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Cli.Tests;

/// <summary>load, unload, bind, unbind, bindings, register-pid, unregister and status against a private namespace and bpffs.</summary>
public sealed class SteeringCommandTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void LoadTwiceThenUnloadTwice()
    {
        var first = _sandbox.Run("load", "--json").AssertOk().Json();
        _sandbox.Run("load").AssertOk();
        Assert.Equal([first.GetProperty("programId").GetUInt32()], _sandbox.NetNs.Namespace.QueryPrograms());
        Assert.Equal(_sandbox.NetNs.Namespace.Inode, first.GetProperty("netns").GetUInt64());

        _sandbox.Run("unload").AssertOk();
        _sandbox.Run("unload").AssertOk();

        Assert.Empty(_sandbox.NetNs.Namespace.QueryPrograms());
    }

    [Fact]
    public void CommandsBeforeLoadSayNotLoaded()
    {
        var bind = _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOneLineError(3);
        _sandbox.Run("bindings").AssertOneLineError(3);
        _sandbox.Run("status").AssertOneLineError(3);
        var json = _sandbox.Run("status", "--json");

        Assert.Contains("load", bind.Error);
        Assert.Equal("not-loaded", json.ErrorJson().GetProperty("error").GetProperty("kind").GetString());
    }

    [Fact]
    public void BindListFilterAndUnbind()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        _sandbox.Run("bind", "proxy", "tcp", "198.51.100.1", "0").AssertOk();
        _sandbox.Run("bind", "web6", "udp", "2001:db8::/64", "any").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk(); // The same binding again is fine.

        var all = _sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("bindings");
        var tcp80 = _sandbox.Run("bindings", "tcp", "192.0.2.7", "80", "--json").AssertOk().Json().GetProperty("bindings");
        var text = _sandbox.Run("bindings").AssertOk().Output;

        Assert.Equal(3, all.GetArrayLength());
        Assert.Single(tcp80.EnumerateArray());
        Assert.Equal("web", tcp80[0].GetProperty("label").GetString());
        Assert.Equal("192.0.2.0/24", tcp80[0].GetProperty("prefix").GetString());
        Assert.Equal(80, tcp80[0].GetProperty("port").GetInt32());
        Assert.Contains("198.51.100.1/32", text);
        Assert.Contains("any", text);

        _sandbox.Run("unbind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        var again = _sandbox.Run("unbind", "web", "tcp", "192.0.2.0/24", "80").AssertOneLineError(7);
        Assert.Contains("no binding", again.Error);
        Assert.Equal(2, _sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("bindings").GetArrayLength());
    }

    [Fact]
    public void EveryCommandThatChangesStatePrintsJson()
    {
        using var listener = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        var pid = Environment.ProcessId.ToString();

        var load = _sandbox.Run("load", "--json").AssertOk().Json();
        var bind = _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80", "--json").AssertOk().Json();
        var register = _sandbox.Run("register-pid", pid, "web", "tcp", "127.0.0.1", "8080", "--json").AssertOk().Json();
        var unregister = _sandbox.Run("unregister", "web", "ipv4", "tcp", "--json").AssertOk().Json();
        var unbind = _sandbox.Run("unbind", "web", "tcp", "192.0.2.0/24", "80", "--json").AssertOk().Json();
        var unload = _sandbox.Run("unload", "--json").AssertOk().Json();

        Assert.Equal("sk_dispatcher", load.GetProperty("programName").GetString());
        Assert.Equal("192.0.2.0/24", bind.GetProperty("prefix").GetString());
        Assert.Equal("web", register.GetProperty("label").GetString());
        Assert.True(unregister.GetProperty("unregistered").GetBoolean());
        Assert.Equal(80, unbind.GetProperty("port").GetInt32());
        Assert.True(unload.GetProperty("unloaded").GetBoolean());
    }

    [Theory]
    [InlineData("abc", "127.0.0.1", "8080")]
    [InlineData("1", "127.0.0.1", "70000")]
    [InlineData("1", "localhost", "8080")]
    [InlineData("1", "127.0.0.1", "0")]
    public void BadRegisterPidArgumentsAreOneLineUsageErrors(string pid, string ip, string port)
    {
        _sandbox.Run("load").AssertOk();

        _sandbox.Run("register-pid", pid, "web", "tcp", ip, port).AssertOneLineError(2);
    }

    [Fact]
    public void BindingTheSameTrafficToAnotherLabelIsAConflict()
    {
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();

        var result = _sandbox.Run("bind", "other", "tcp", "192.0.2.0/24", "80").AssertOneLineError(8);

        Assert.Contains("web", result.Error);
    }

    [Theory]
    [InlineData("web", "tcp", "192.0.2.0/33", "80", "prefix")]
    [InlineData("web", "tcp", "192.0.2.1/24", "80", "host bits")]
    [InlineData("web", "tcp", "not-an-ip", "80", "prefix")]
    [InlineData("web", "tcp", "192.0.2.0/24", "70000", "out of range")]
    [InlineData("web", "tcp", "192.0.2.0/24", "http", "port")]
    [InlineData("web", "sctp", "192.0.2.0/24", "80", "protocol")]
    [InlineData("a-label-that-is-far-too-long-for-the-map-keys-of-the-dispatcher-xyz", "tcp", "192.0.2.0/24", "80", "label")]
    public void BadBindingArgumentsAreOneLineUsageErrorsAndChangeNothing(string label, string protocol, string prefix, string port, string mentions)
    {
        _sandbox.Run("load").AssertOk();

        var result = _sandbox.Run("bind", label, protocol, prefix, port).AssertOneLineError(2);

        Assert.Contains(mentions, result.Error);
        Assert.Equal(0, _sandbox.Run("bindings", "--json").AssertOk().Json().GetProperty("bindings").GetArrayLength());
    }

    [Fact]
    public void UnregisterWithAWrongFamilyIsAUsageError()
    {
        _sandbox.Run("load").AssertOk();

        var result = _sandbox.Run("unregister", "web", "ipv5", "tcp").AssertOneLineError(2);

        Assert.Contains("family", result.Error);
    }

    [Fact]
    public void AMissingBpfFsPathIsAUsageError()
    {
        var result = Sandbox.RunRaw("load", "--netns", _sandbox.NetNsPath, "--bpffs", "/nonexistent/bpffs").AssertOneLineError(2);

        Assert.Contains("/nonexistent/bpffs", result.Error);
        Assert.Empty(_sandbox.NetNs.Namespace.QueryPrograms());
    }

    [Fact]
    public void APathThatIsNotBpfFsIsAUsageError()
    {
        var directory = Directory.CreateTempSubdirectory("sklookup-not-bpffs-");
        try
        {
            var result = Sandbox.RunRaw("load", "--netns", _sandbox.NetNsPath, "--bpffs", directory.FullName).AssertOneLineError(2);

            Assert.Contains("not on bpffs", result.Error);
            Assert.Empty(directory.EnumerateFileSystemInfos());
            Assert.Empty(_sandbox.NetNs.Namespace.QueryPrograms());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void RegisterPidSteersRealTrafficAndStatusShowsSocketOwnerAndCounters()
    {
        _sandbox.NetNs.AddLocalRoute("192.0.2.0/24");
        using var listener = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();

        var registered = _sandbox.Run("register-pid", Environment.ProcessId.ToString(), "web", "tcp", "127.0.0.1", "8080", "--json").AssertOk().Json();
        Traffic.ConnectAndFindAcceptor(_sandbox.NetNs, new IPEndPoint(IPAddress.Parse("192.0.2.7"), 80), listener);
        Traffic.ConnectAndFindAcceptor(_sandbox.NetNs, new IPEndPoint(IPAddress.Parse("192.0.2.200"), 80), listener);
        var status = _sandbox.Run("status", "web", "--json").AssertOk().Json();
        var text = _sandbox.Run("status").AssertOk().Output;

        Assert.Equal("ipv4", registered.GetProperty("family").GetString());
        var destination = status.GetProperty("destinations")[0];
        Assert.Equal("web", destination.GetProperty("label").GetString());
        Assert.Equal(registered.GetProperty("socketCookie").GetUInt64(), destination.GetProperty("socketCookie").GetUInt64());
        Assert.Equal(2UL, destination.GetProperty("lookups").GetUInt64());
        Assert.Equal(0UL, destination.GetProperty("misses").GetUInt64());
        Assert.Contains(destination.GetProperty("owners").EnumerateArray(), owner => owner.GetProperty("pid").GetInt32() == Environment.ProcessId);
        Assert.Equal(1, status.GetProperty("bindings").GetArrayLength());
        Assert.Contains("192.0.2.0/24", text);
        Assert.Contains($"[{Environment.ProcessId}]", text);

        _sandbox.Run("unregister", "web", "ipv4", "tcp").AssertOk();
        var refused = Assert.Throws<SocketException>(() =>
            Traffic.ConnectAndFindAcceptor(_sandbox.NetNs, new IPEndPoint(IPAddress.Parse("192.0.2.7"), 80), listener));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        _sandbox.Run("unregister", "web", "ipv4", "tcp").AssertOneLineError(7);
    }

    [Fact]
    public void RegisterPidWithoutAMatchingSocketIsNotFound()
    {
        _sandbox.Run("load").AssertOk();

        var result = _sandbox.Run("register-pid", Environment.ProcessId.ToString(), "web", "tcp", "127.0.0.1", "1").AssertOneLineError(7);

        Assert.Contains("127.0.0.1:1", result.Error);
    }

    [Fact]
    public void StatusOfAnUnknownLabelIsNotFound()
    {
        _sandbox.Run("load").AssertOk();

        _sandbox.Run("status", "nobody").AssertOneLineError(7);
    }

    [Fact]
    public void ProgDetachRefusesTheDispatcherWithoutForce()
    {
        var id = _sandbox.Run("load", "--json").AssertOk().Json().GetProperty("programId").GetUInt32();

        var refused = _sandbox.Run("prog", "detach", id.ToString()).AssertOneLineError(2);

        Assert.Contains("unload", refused.Error);
        Assert.Equal([id], _sandbox.NetNs.Namespace.QueryPrograms());
    }

    [Fact]
    public void AWriterThatHoldsTheLockMakesOthersTimeOut()
    {
        _sandbox.Run("load").AssertOk();
        using var holder = Dispatcher.Open(_sandbox.NetNs.Namespace, _sandbox.BpfFs.Path, write: true);

        var result = _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOneLineError(5);

        Assert.Contains("lock", result.Error);
    }
}
