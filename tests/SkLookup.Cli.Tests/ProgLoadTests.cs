using System.Net;
using System.Net.Sockets;
using SkLookup.TestKit;

namespace SkLookup.Cli.Tests;

/// <summary><c>sklookup prog load</c> with the committed clang-built objects, then attach and real traffic.</summary>
public sealed class ProgLoadTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private static string Object(string name) => Path.Combine(AppContext.BaseDirectory, "bpf-objects", name);

    [Fact]
    public void LoadedDropProgramRefusesConnectionsOnceAttachedAndNotAfterDetach()
    {
        using var listener = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        var directory = _sandbox.BpfFs["suite"];

        var load = _sandbox.Run("prog", "load", Object("sk_lookup_suite.o"), "--program", "lookup_drop", "--pin", directory, "--json").AssertOk().Json();
        var pin = load.GetProperty("programs")[0].GetProperty("pin").GetString()!;
        _sandbox.Run("prog", "attach", pin).AssertOk();
        var refused = Assert.Throws<SocketException>(() =>
            Traffic.ConnectAndFindAcceptor(_sandbox.NetNs, new IPEndPoint(IPAddress.Loopback, 8080), listener));
        var list = _sandbox.Run("prog", "list").AssertOk().Output;
        _sandbox.Run("prog", "detach", pin).AssertOk();

        Assert.Equal(Path.Combine(directory, "lookup_drop"), pin);
        Assert.Equal("SkLookup", load.GetProperty("programs")[0].GetProperty("type").GetString());
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Contains("lookup_drop", list);
        Assert.Equal(0, Traffic.ConnectAndFindAcceptor(_sandbox.NetNs, new IPEndPoint(IPAddress.Loopback, 8080), listener));
    }

    [Fact]
    public void DefaultPinDirectoryIsNamedAfterTheObjectAndHoldsMapsPinnedByName()
    {
        var result = _sandbox.Run("prog", "load", Object("pinned_maps.o")).AssertOk();

        Assert.Contains("pinned_select", result.Output);
        var entries = Directory.EnumerateFileSystemEntries(_sandbox.BpfFs["pinned_maps"]).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["pinned_hits", "pinned_select", "pinned_sockets"], entries);
    }

    [Fact]
    public void AnUnknownProgramIsNotFoundAndNamesTheOthers()
    {
        var result = _sandbox.Run("prog", "load", Object("sk_lookup_suite.o"), "--program", "nope", "--pin", _sandbox.BpfFs["x"]).AssertOneLineError(7);

        Assert.Contains("lookup_pass", result.Error);
        Assert.Empty(_sandbox.BpfFs.UserEntries());
    }

    [Fact]
    public void AMissingFileIsAUsageError() =>
        _sandbox.Run("prog", "load", "/nonexistent/prog.o").AssertOneLineError(2);

    [Fact]
    public void APinDirectoryOffBpfFsIsAUsageError()
    {
        var directory = Path.Combine(Path.GetTempPath(), "sklookup-not-bpffs-" + Guid.NewGuid().ToString("N"));

        var result = _sandbox.Run("prog", "load", Object("pinned_maps.o"), "--pin", directory).AssertOneLineError(2);

        Assert.Contains("not on bpffs", result.Error);
        Assert.False(Directory.Exists(directory));
    }

    [Fact]
    public void AnExistingPinIsAConflictAndNothingIsLoaded()
    {
        var directory = _sandbox.BpfFs["suite"];
        _sandbox.Run("prog", "load", Object("sk_lookup_suite.o"), "--program", "lookup_pass", "--pin", directory).AssertOk();

        _sandbox.Run("prog", "load", Object("sk_lookup_suite.o"), "--program", "lookup_pass", "--pin", directory).AssertOneLineError(8);

        Assert.Equal(["lookup_pass"], Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName));
    }

    [Fact]
    public void AnObjectWithUnsupportedRelocationsFailsInOneLineAndPinsNothing()
    {
        var result = _sandbox.Run("prog", "load", Object("core_reloc.o"), "--pin", _sandbox.BpfFs["core"]);

        Assert.NotEqual(0, result.ExitCode);
        result.AssertOneLineError(result.ExitCode);
        Assert.Empty(_sandbox.BpfFs.UserEntries());
    }
}
