using System.Net;

namespace SkLookup.Tests.Bindings;

/// <summary>The fast sort (keys computed once) orders bindings exactly as the reference comparison does.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class PrecedenceSortTests
{
    [Fact]
    public void MatchesTheReferenceOrder()
    {
        var random = new Random(7);
        var bindings = new List<Binding>();
        for (var i = 0; i < 5000; i++)
        {
            var v4 = random.Next(2) == 0;
            var bytes = new byte[v4 ? 4 : 16];
            random.NextBytes(bytes);
            var length = random.Next(v4 ? 33 : 129);
            var address = Binding.Masked(new IPAddress(bytes), length)!;
            bindings.Add(new Binding(((char)('a' + random.Next(3))).ToString(), random.Next(2) == 0 ? Protocol.Tcp : Protocol.Udp,
                new IPNetwork(address, length), (ushort)(random.Next(3) == 0 ? 0 : random.Next(1, 5))));
        }
        // Duplicates that differ only in label, and in port, exercise the last tie-breakers.
        bindings.AddRange(bindings.Take(200).Select(b => b with { Label = "z" }));
        bindings.AddRange(bindings.Take(200).Select(b => b with { Port = 9 }));
        var reference = bindings.ToList();
        reference.Sort(BindingTable.ComparePrecedence);
        Assert.Equal(reference, BindingTable.Sort(bindings));
    }
}
