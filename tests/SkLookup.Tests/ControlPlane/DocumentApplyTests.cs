namespace SkLookup.Tests.ControlPlane;

/// <summary>Dispatcher.Apply: a bindings document with label options as one change, and confined to owned labels.</summary>
public sealed class DocumentApplyTests
{
    private static Binding B(string label, string protocol, string prefix, string port) => Scenario.B(label, protocol, prefix, port);

    private static BindingsDocument Document(IReadOnlyList<Binding> bindings, params (string Label, bool FallThrough)[] labels) =>
        new(bindings, labels.ToDictionary(l => l.Label, l => new LabelOptions(l.FallThrough)));

    private static Dictionary<string, bool> FallThrough(Dispatcher d) =>
        d.Destinations().GroupBy(s => s.Label).ToDictionary(g => g.Key, g => g.All(s => s.FallThrough));

    [Fact]
    public void SetsLabelOptionsWithTheBindings()
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        var diff = d.Apply(Document([B("web", "tcp", "192.0.2.0/24", "80"), B("dns", "udp", "192.0.2.53", "53")], ("web", true)));

        Assert.Equal(2, diff.Added.Count);
        Assert.Equal(new Dictionary<string, bool> { ["dns"] = false, ["web"] = true }, FallThrough(d));
    }

    [Fact]
    public void AFailedApplyPutsTheLabelOptionsBack()
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        d.Apply(Document([B("web", "tcp", "192.0.2.0/24", "80")]));
        var before = d.Bindings();

        // Two labels for the same traffic: the bindings fail after the options were set.
        var failure = Assert.Throws<SteeringException>(() =>
            d.Apply(Document([B("web", "tcp", "192.0.2.0/24", "80"), B("api", "tcp", "192.0.2.0/24", "80")], ("web", true))));

        Assert.Equal(SteeringError.AlreadyExists, failure.Error);
        Assert.Equal(before, d.Bindings());
        Assert.Equal(new Dictionary<string, bool> { ["web"] = false }, FallThrough(d));
    }

    [Fact]
    public void OwnedLabelsConfineTheApplySoTwoAppsDoNotUndoEachOther()
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        d.Apply(Document([B("dns", "udp", "192.0.2.53", "53")], ("dns", true)), ownedLabels: ["dns"]);          // app 1
        d.Apply(Document([B("web", "tcp", "192.0.2.0/24", "80")]), ownedLabels: ["web"]);                       // app 2
        Assert.Equal(2, d.Bindings().Count);

        // App 2 changes its own bindings; app 1's stay, options and all.
        var diff = d.Apply(Document([B("web", "tcp", "192.0.2.0/24", "443")]), ownedLabels: ["web"]);
        Assert.Equal([B("web", "tcp", "192.0.2.0/24", "443")], diff.Added);
        Assert.Equal([B("web", "tcp", "192.0.2.0/24", "80")], diff.Removed);
        Assert.Contains(B("dns", "udp", "192.0.2.53", "53"), d.Bindings());
        Assert.True(FallThrough(d)["dns"]);

        // An owned label the document leaves out loses its bindings, and its options go back to the defaults.
        d.Apply(Document([]), ownedLabels: ["dns"]);
        Assert.Equal([B("web", "tcp", "192.0.2.0/24", "443")], d.Bindings());

        // The document may not touch a label it does not own, nor take another label's traffic.
        var foreign = Assert.Throws<SteeringException>(() => d.Apply(Document([B("dns", "udp", "192.0.2.53", "53")]), ownedLabels: ["web"]));
        Assert.Equal(SteeringError.InvalidLabel, foreign.Error);
        Assert.Contains("does not own", foreign.Message, StringComparison.Ordinal);
        var stolen = Assert.Throws<SteeringException>(() => d.Apply(Document([B("api", "tcp", "192.0.2.0/24", "443")]), ownedLabels: ["api"]));
        Assert.Equal(SteeringError.AlreadyExists, stolen.Error);
        Assert.Equal([B("web", "tcp", "192.0.2.0/24", "443")], d.Bindings());
    }

    [Fact]
    public void ADryRunReportsTheDiffOfTheOwnedLabelsAndChangesNothing()
    {
        using var scenario = new Scenario();
        var d = scenario.D;
        d.Apply(Document([B("dns", "udp", "192.0.2.53", "53"), B("web", "tcp", "192.0.2.0/24", "80")]));
        var programId = d.Program.Id;

        var dry = d.Apply(Document([B("web", "tcp", "192.0.2.0/24", "8080")], ("web", true)), dryRun: true, ownedLabels: ["web"]);

        Assert.Equal([B("web", "tcp", "192.0.2.0/24", "8080")], dry.Added);
        Assert.Equal([B("web", "tcp", "192.0.2.0/24", "80")], dry.Removed);
        Assert.Equal(2, d.Bindings().Count);
        Assert.False(FallThrough(d)["web"]);
        Assert.Equal(programId, d.Program.Id);
    }
}
