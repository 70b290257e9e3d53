using SkLookup.Bpf.Features;

namespace SkLookup.Cli.Tests;

/// <summary>
/// What the tool does on the kernels of the matrix (scripts/kernel-matrix.sh): on each, every command either
/// works, or a missing feature is one line naming the Linux version that has it, and nothing is changed.
/// </summary>
public sealed class KernelReachTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private static string Object(string name) => Path.Combine(AppContext.BaseDirectory, "bpf-objects", name);

    /// <summary>
    /// Before 5.11 the kernel charges maps against RLIMIT_MEMLOCK: the tool raises the limit itself, and
    /// when it may not (a 64 KiB hard limit and no CAP_SYS_RESOURCE) says so in one line. From 5.11 on the
    /// limit does not matter at all.
    /// </summary>
    [Fact]
    public void LoadUnderA64KiBMemlockLimitWithoutCapSysResource()
    {
        var result = Sandbox.RunChild("prlimit",
        [
            "--memlock=65536:65536", "setpriv", "--bounding-set=-sys_resource", "--inh-caps=-sys_resource", "--",
            "dotnet", Path.Combine(AppContext.BaseDirectory, "SkLookup.Cli.dll"), "load", "--netns", _sandbox.NetNsPath, "--bpffs", _sandbox.BpfFs.Path,
        ]);

        if (Probe.HasMemcgAccounting)
        {
            result.AssertOk();
            _sandbox.Run("status").AssertOk();
            return;
        }
        result.AssertOneLineError(6);
        Assert.Contains("RLIMIT_MEMLOCK", result.Error);
        Assert.Contains("before Linux 5.11", result.Error);
        Assert.Contains("64 KiB", result.Error);
        Assert.Contains("ulimit -l unlimited", result.Error);
        _sandbox.Run("status").AssertOneLineError(3); // Not loaded: nothing was left behind.
        Assert.Empty(_sandbox.BpfFs.UserEntries()); // Not even sklookup/: a refused load removes the root it made.
    }

    [Theory]
    [InlineData("status")]
    [InlineData("version")]
    public void NamesTheKernelAndTheFeaturesFound(string command)
    {
        _sandbox.Run("load").AssertOk();

        var kernel = _sandbox.Run(command, "--json").AssertOk().Json().GetProperty("kernel");
        var text = _sandbox.Run(command).AssertOk().Output;

        Assert.Equal(KernelVersion.Release, kernel.GetProperty("release").GetString());
        var features = Probe.All();
        Assert.Equal(features.Select(f => (f.Name, f.MinimumKernel, f.Present)),
            kernel.GetProperty("features").EnumerateArray().Select(f => (f.GetProperty("name").GetString()!, f.GetProperty("since").GetString()!, (bool?)f.GetProperty("present").GetBoolean())));
        Assert.Contains($"kernel: Linux {KernelVersion.Release}: ", text);
        foreach (var missing in features.Where(f => f.Present == false))
            Assert.Contains($"{missing.Name} (needs {missing.MinimumKernel})", text);
    }

    /// <summary>A program that reads ingress_ifindex loads from 5.17 on; before, one line says it needs 5.17.</summary>
    [Fact]
    public void ProgLoadOfAProgramThatNeedsANewerKernelIsOneLine()
    {
        var result = _sandbox.Run("prog", "load", Object("sk_lookup_suite.o"), "--program", "check_ifindex", "--pin", _sandbox.BpfFs["suite"]);

        if (Probe.HasIngressIfindex)
        {
            result.AssertOk();
            return;
        }
        result.AssertOneLineError(9);
        Assert.Contains("ingress_ifindex", result.Error);
        Assert.Contains("needs Linux 5.17 or later", result.Error);
    }
}
