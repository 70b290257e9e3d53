using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>What happens to a label's traffic: a socket per traffic class (tcp4, udp4, tcp6, udp6) or none, and fall-through without one.</summary>
internal sealed record LabelPlan(string Name, bool FallThrough, bool[] SocketByClass)
{
    public bool HasSocket(Family family, Protocol protocol) => SocketByClass[(family == Family.IPv6 ? 2 : 0) + (protocol == Protocol.Udp ? 1 : 0)];
}

/// <summary>A single bind (<see cref="Add"/>) or unbind after the set is loaded.</summary>
internal sealed record Change(Binding Binding, bool Add)
{
    public override string ToString() => $"{(Add ? "bind" : "unbind")} {Binding}";
}

/// <summary>
/// One generated case: a binding set, what its labels do, the inline limit (which decides the generated form of
/// each class), extra random lookups, and single changes applied in place afterwards.
/// </summary>
internal sealed record PropertyCase(IReadOnlyList<Binding> Bindings, IReadOnlyList<LabelPlan> Labels, int InlineLimit,
    IReadOnlyList<Lookup> RandomLookups, IReadOnlyList<Change> Changes)
{
    /// <summary>The case as a bindings file that <c>sklookup apply</c> accepts, with the labels' fall-through options.</summary>
    public static string ToBindingsFile(IEnumerable<Binding> bindings, IEnumerable<LabelPlan> labels)
    {
        var list = bindings.ToList();
        var used = list.Select(b => b.Label).ToHashSet();
        var text = new StringBuilder("{\n  \"bindings\": [\n");
        text.AppendJoin(",\n", list.Select(b => string.Create(CultureInfo.InvariantCulture,
            $"    {{ \"label\": {JsonSerializer.Serialize(b.Label)}, \"protocol\": \"{b.Protocol.Name()}\", \"prefix\": \"{b.Prefix}\", \"port\": {b.Port} }}")));
        text.Append("\n  ],\n  \"labels\": {");
        text.AppendJoin(",", labels.Where(l => used.Contains(l.Name)).Select(l => $" {JsonSerializer.Serialize(l.Name)}: {{ \"fallThrough\": {(l.FallThrough ? "true" : "false")} }}"));
        text.Append(" }\n}\n");
        return text.ToString();
    }

    /// <summary>Which destinations have a socket, in words.</summary>
    public static string DescribeSockets(IEnumerable<Binding> bindings, IEnumerable<LabelPlan> labels)
    {
        var byName = labels.ToDictionary(l => l.Name);
        return string.Join("; ", bindings.Select(b => (b.Label, b.Family, b.Protocol)).Distinct().Order()
            .Select(d => $"{d.Label} {d.Family.Name()} {d.Protocol.Name()}: " +
                (byName[d.Label].HasSocket(d.Family, d.Protocol) ? "socket" : byName[d.Label].FallThrough ? "no socket, falls through" : "no socket, drops")));
    }

    public override string ToString() =>
        $"{Bindings.Count} bindings, inline limit {InlineLimit}, {Changes.Count} changes ({string.Join(", ", Changes)})";
}

/// <summary>Addresses as 128-bit numbers, for boundary arithmetic.</summary>
internal static class AddressMath
{
    public static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var size);
        UInt128 value = 0;
        for (var i = 0; i < size; i++)
            value = (value << 8) | bytes[i];
        return value;
    }

    public static IPAddress FromNumber(UInt128 value, bool v4)
    {
        var size = v4 ? 4 : 16;
        var bytes = new byte[size];
        for (var i = size - 1; i >= 0; i--, value >>= 8)
            bytes[i] = (byte)value;
        return new IPAddress(bytes);
    }

    public static int Bits(bool v4) => v4 ? 32 : 128;

    /// <summary>The largest address of the family.</summary>
    public static UInt128 Max(bool v4) => v4 ? uint.MaxValue : UInt128.MaxValue;

    /// <summary>The mask of the first <paramref name="length"/> bits.</summary>
    public static UInt128 Mask(int length, bool v4) =>
        length == 0 ? 0 : (Max(v4) << (Bits(v4) - length)) & Max(v4);

    public static IPNetwork Network(UInt128 address, int length, bool v4) => new(FromNumber(address & Mask(length, v4), v4), length);

    /// <summary>The first and last address of a prefix.</summary>
    public static (UInt128 First, UInt128 Last) Range(IPNetwork prefix)
    {
        var v4 = prefix.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        var first = ToNumber(prefix.BaseAddress);
        return (first, first | (~Mask(prefix.PrefixLength, v4) & Max(v4)));
    }
}
