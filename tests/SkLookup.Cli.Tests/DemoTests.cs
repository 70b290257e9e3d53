namespace SkLookup.Cli.Tests;

/// <summary><c>sklookup demo</c> runs its own namespace and bpffs, steers real traffic, and cleans up.</summary>
public sealed class DemoTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void DemoSteersEveryDeliveryAndCleansUp()
    {
        var json = _sandbox.Run("demo", "--json").AssertOk().Json();

        Assert.True(json.GetProperty("ok").GetBoolean());
        Assert.True(json.GetProperty("cleanedUp").GetBoolean());
        Assert.False(Directory.Exists(json.GetProperty("bpffs").GetString()));
        var traffic = json.GetProperty("traffic").EnumerateArray().ToList();
        Assert.All(traffic, delivery => Assert.True(delivery.GetProperty("asExpected").GetBoolean()));
        Assert.Contains(traffic, d => d.GetProperty("protocol").GetString() == "udp" && d.GetProperty("arrivedAt").ValueKind != System.Text.Json.JsonValueKind.Null
            && d.GetProperty("arrivedAt").GetProperty("label").GetString() == "proxy");
        Assert.Contains(traffic, d => d.GetProperty("expected").ValueKind == System.Text.Json.JsonValueKind.Null);
        var lookups = json.GetProperty("destinations").EnumerateArray().Sum(d => (long)d.GetProperty("lookups").GetUInt64());
        Assert.Equal(traffic.Count(d => d.GetProperty("arrivedAt").ValueKind != System.Text.Json.JsonValueKind.Null), lookups);
        // The demo never touched the sandbox it was handed.
        Assert.Empty(_sandbox.BpfFs.UserEntries());
        Assert.Empty(_sandbox.NetNs.Namespace.QueryPrograms());
    }

    [Fact]
    public void DemoAsAChildProcessPrintsWhereTrafficArrived()
    {
        var result = _sandbox.RunProcess("demo").AssertOk();

        Assert.Contains("web: tcp listener 127.0.0.1:8080", result.Output);
        Assert.Contains("proxy: udp socket [::1]:9090", result.Output);
        Assert.Contains("went where the bindings say", result.Output);
        Assert.Contains("cleaned up", result.Output);
        Assert.DoesNotContain("WRONG", result.Output);
        Assert.Empty(result.Error);
    }
}
