using System.Net;

namespace SkLookup.Cli.Tests;

/// <summary><c>sklookup explain</c>: the binding, label and socket one packet meets.</summary>
public sealed class ExplainTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void ExplainsDeliveredDroppedAndNormalLookup()
    {
        using var listener = _sandbox.NetNs.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
        _sandbox.Run("load").AssertOk();
        _sandbox.Run("bind", "web", "tcp", "192.0.2.0/24", "80").AssertOk();
        _sandbox.Run("bind", "mail", "tcp", "192.0.2.0/24", "25").AssertOk();
        var cookie = _sandbox.Run("register-pid", Environment.ProcessId.ToString(), "web", "tcp", "127.0.0.1", "8080", "--json")
            .AssertOk().Json().GetProperty("socketCookie").GetUInt64();

        var delivered = _sandbox.Run("explain", "tcp", "192.0.2.7:80", "--from", "203.0.113.9:5000", "--json").AssertOk().Json();
        var dropped = _sandbox.Run("explain", "tcp", "192.0.2.7:25", "--json").AssertOk().Json();
        var normal = _sandbox.Run("explain", "udp", "192.0.2.7:80", "--json").AssertOk().Json();
        var text = _sandbox.Run("explain", "tcp", "192.0.2.7:80").AssertOk().Output;

        Assert.Equal("delivered", delivered.GetProperty("verdict").GetString());
        Assert.Equal("web", delivered.GetProperty("binding").GetProperty("label").GetString());
        Assert.Equal(cookie, delivered.GetProperty("deliveredSocketCookie").GetUInt64());
        Assert.Equal("203.0.113.9:5000", delivered.GetProperty("source").GetString());
        Assert.True(delivered.GetProperty("programs")[0].GetProperty("isDispatcher").GetBoolean());
        Assert.Equal("dropped", dropped.GetProperty("verdict").GetString());
        Assert.Equal("mail", dropped.GetProperty("binding").GetProperty("label").GetString());
        Assert.Equal("normal-lookup", normal.GetProperty("verdict").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, normal.GetProperty("binding").ValueKind);
        Assert.Contains("binding: web tcp 192.0.2.0/24 80", text);
        Assert.Contains("delivered", text);
    }

    [Fact]
    public void WithoutAnyProgramTheNormalLookupDecides()
    {
        var result = _sandbox.Run("explain", "tcp", "[2001:db8::1]:443").AssertOk();

        Assert.Contains("no sk_lookup program is attached", result.Output);
        Assert.Contains("normal socket lookup", result.Output);
    }

    [Theory]
    [InlineData("192.0.2.7")]
    [InlineData("2001:db8::1")]
    [InlineData("nowhere:80")]
    public void ADestinationWithoutPortIsAUsageError(string destination) =>
        _sandbox.Run("explain", "tcp", destination).AssertOneLineError(2);

    [Fact]
    public void ASourceOfAnotherFamilyIsAUsageError() =>
        _sandbox.Run("explain", "tcp", "192.0.2.7:80", "--from", "[2001:db8::1]:5000").AssertOneLineError(2);
}
