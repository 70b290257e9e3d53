namespace SkLookup.Cli.Tests;

/// <summary><c>sklookup prog list | attach | detach</c> against a private namespace and bpffs.</summary>
public sealed class ProgCommandTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void ListOfAnEmptyNamespaceSaysSo()
    {
        var result = _sandbox.Run("prog", "list").AssertOk();

        Assert.Contains("no sk_lookup program is attached", result.Output);
        Assert.Equal(0, _sandbox.Run("prog", "list", "--json").AssertOk().Json().GetProperty("programs").GetArrayLength());
    }

    [Fact]
    public void AttachPinsALinkAndListShowsTheProgramsInRunOrder()
    {
        var first = TestPrograms.PinPassAll(_sandbox.BpfFs["first"], "first");
        var second = TestPrograms.PinPassAll(_sandbox.BpfFs["second"], "second");

        _sandbox.Run("prog", "attach", _sandbox.BpfFs["first"]).AssertOk();
        var attach = _sandbox.Run("prog", "attach", _sandbox.BpfFs["second"], "--json").AssertOk().Json();
        var list = _sandbox.Run("prog", "list", "--json").AssertOk().Json();

        Assert.Equal(second, attach.GetProperty("programId").GetUInt32());
        Assert.Equal(_sandbox.BpfFs["second_link"], attach.GetProperty("linkPin").GetString());
        Assert.Contains("second_link", _sandbox.BpfFs.UserEntries());
        var programs = list.GetProperty("programs");
        Assert.Equal(2, programs.GetArrayLength());
        Assert.Equal(first, programs[0].GetProperty("id").GetUInt32());
        Assert.Equal("first", programs[0].GetProperty("name").GetString());
        Assert.Equal(1, programs[0].GetProperty("order").GetInt32());
        Assert.Equal(second, programs[1].GetProperty("id").GetUInt32());
        Assert.Equal(attach.GetProperty("linkId").GetUInt32(), programs[1].GetProperty("linkId").GetUInt32());
        Assert.Equal(16, programs[1].GetProperty("tag").GetString()!.Length);
        Assert.Equal(_sandbox.NetNs.Namespace.Inode, list.GetProperty("netns").GetUInt64());
        var text = _sandbox.Run("prog", "list").AssertOk().Output;
        Assert.Contains("first", text);
        Assert.Contains("second", text);
    }

    [Fact]
    public void DetachByProgramPinDetachesAndRemovesTheLinkPin()
    {
        TestPrograms.PinPassAll(_sandbox.BpfFs["prog"]);
        _sandbox.Run("prog", "attach", _sandbox.BpfFs["prog"]).AssertOk();

        var detach = _sandbox.Run("prog", "detach", _sandbox.BpfFs["prog"]).AssertOk();

        Assert.Contains("detached link", detach.Output);
        Assert.Empty(_sandbox.NetNs.Namespace.QueryPrograms());
        Assert.Equal(["prog"], _sandbox.BpfFs.UserEntries());
    }

    [Fact]
    public void DetachByLinkPinAndByIdDetachOnlyThatProgram()
    {
        var a = TestPrograms.PinPassAll(_sandbox.BpfFs["a"], "a");
        var b = TestPrograms.PinPassAll(_sandbox.BpfFs["b"], "b");
        _sandbox.Run("prog", "attach", _sandbox.BpfFs["a"]).AssertOk();
        _sandbox.Run("prog", "attach", _sandbox.BpfFs["b"], "--link-pin", _sandbox.BpfFs["b_custom"]).AssertOk();

        _sandbox.Run("prog", "detach", _sandbox.BpfFs["b_custom"]).AssertOk();
        Assert.Equal([a], _sandbox.NetNs.Namespace.QueryPrograms());
        Assert.DoesNotContain("b_custom", _sandbox.BpfFs.UserEntries());

        var json = _sandbox.Run("prog", "detach", a.ToString(), "--json").AssertOk().Json();
        Assert.Empty(_sandbox.NetNs.Namespace.QueryPrograms());
        Assert.Equal(a, json.GetProperty("detached")[0].GetProperty("programId").GetUInt32());
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void DetachOfAProgramThatIsNotAttachedIsNotFound()
    {
        var id = TestPrograms.PinPassAll(_sandbox.BpfFs["idle"]);

        var result = _sandbox.Run("prog", "detach", id.ToString()).AssertOneLineError(7);

        Assert.Contains("is not attached", result.Error);
    }

    [Fact]
    public void AttachRefusesWhatIsNotAnSkLookupProgram()
    {
        TestPrograms.PinSocketFilter(_sandbox.BpfFs["filter"]);
        TestPrograms.PinMap(_sandbox.BpfFs["map"]);

        var filter = _sandbox.Run("prog", "attach", _sandbox.BpfFs["filter"]).AssertOneLineError(2);
        var map = _sandbox.Run("prog", "attach", _sandbox.BpfFs["map"]).AssertOneLineError(2);
        var missing = _sandbox.Run("prog", "attach", _sandbox.BpfFs["missing"]).AssertOneLineError(7);

        Assert.Contains("not sk_lookup", filter.Error);
        Assert.Contains("holds a map", map.Error);
        Assert.Contains("missing", missing.Error);
        Assert.Empty(_sandbox.NetNs.Namespace.QueryPrograms());
    }

    [Fact]
    public void AttachRefusesAnExistingLinkPinAndChangesNothing()
    {
        TestPrograms.PinPassAll(_sandbox.BpfFs["prog"]);
        TestPrograms.PinMap(_sandbox.BpfFs["prog_link"]);

        _sandbox.Run("prog", "attach", _sandbox.BpfFs["prog"]).AssertOneLineError(8);

        Assert.Empty(_sandbox.NetNs.Namespace.QueryPrograms());
    }
}
