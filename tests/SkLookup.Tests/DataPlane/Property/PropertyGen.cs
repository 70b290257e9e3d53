using CsCheck;
using static SkLookup.Tests.DataPlane.Property.AddressMath;

namespace SkLookup.Tests.DataPlane.Property;

/// <summary>
/// CsCheck generators for <see cref="PropertyCase"/>. Bindings are built from raw draws one after another, and
/// most draws refer to a binding made before (the same address with another length, its sibling, a prefix
/// inside it or around it), so that sets are full of nested, overlapping, adjacent and duplicate-address
/// prefixes. Prefix lengths are weighted towards /0, short prefixes and host lengths, ports towards a small
/// pool so that bindings share ports. Every draw shrinks towards fewer and simpler bindings.
/// </summary>
internal static class PropertyGen
{
    public static readonly string[] LabelNames = ["a", "b", "c", "d", "e", "f"];

    private static readonly ushort[] PortPool = [1, 80, 443, 8080, 65535];

    /// <summary>One raw binding draw: how it relates to an earlier binding, and the numbers it is made of.</summary>
    internal readonly record struct Draw(int Kind, int Reference, bool V6, bool Udp, int LengthKind, int Length, ulong High, ulong Low, int PortKind, ushort Port, int Label);

    /// <summary>One raw lookup draw.</summary>
    internal readonly record struct LookupDraw(bool Inside, int Reference, ulong High, ulong Low, int PortKind, ushort Port, bool Udp, bool Mapped);

    public static readonly Gen<Draw> Draws = Gen.Select(
        Gen.Select(Gen.Frequency((4, Gen.Const(0)), (2, Gen.Const(1)), (2, Gen.Const(2)), (3, Gen.Const(3)), (2, Gen.Const(4))), Gen.Int[0, 1 << 20], Gen.Bool, Gen.Bool),
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, 128], Gen.ULong, Gen.ULong),
        Gen.Select(Gen.Int[0, 9], Gen.UShort[1, 65535], Gen.Int[0, LabelNames.Length - 1]),
        (a, b, c) => new Draw(a.Item1, a.Item2, a.Item3, a.Item4, b.Item1, b.Item2, b.Item3, b.Item4, c.Item1, c.Item2, c.Item3));

    private static readonly Gen<LookupDraw> LookupDraws = Gen.Select(
        Gen.Select(Gen.Frequency((3, Gen.Const(true)), (1, Gen.Const(false))), Gen.Int[0, 1 << 20], Gen.ULong, Gen.ULong),
        Gen.Select(Gen.Int[0, 5], Gen.UShort[1, 65535], Gen.Bool, Gen.Frequency((1, Gen.Const(true)), (5, Gen.Const(false)))),
        (a, b) => new LookupDraw(a.Item1, a.Item2, a.Item3, a.Item4, b.Item1, b.Item2, b.Item3, b.Item4));

    private static readonly Gen<LabelPlan[]> Labels = Gen.Select(Gen.Frequency((1, Gen.Const(true)), (3, Gen.Const(false))).Array[LabelNames.Length],
        Gen.Frequency((3, Gen.Const(true)), (1, Gen.Const(false))).Array[LabelNames.Length * 4],
        (fallThrough, sockets) => LabelNames.Select((name, i) => new LabelPlan(name, fallThrough[i], sockets[(i * 4)..(i * 4 + 4)])).ToArray());

    /// <summary>The inline limit: trees (the default), the probe table for every class (0), or a mix of both forms.</summary>
    private static readonly Gen<int> InlineLimits = Gen.Frequency((4, Gen.Const(SkLookup.DataPlane.DispatcherShape.InlineLimit)), (4, Gen.Const(0)),
        (1, Gen.Const(3)), (1, Gen.Const(40)));

    /// <summary>Binding counts: mostly small (they shrink and run fast), a fair share of hundreds and thousands.</summary>
    private static readonly Gen<int> Counts = Gen.Frequency((3, Gen.Const(0)), (30, Gen.Int[1, 16]), (30, Gen.Int[17, 200]), (15, Gen.Int[201, 700]),
        (12, Gen.Int[701, 3000]));

    private static readonly Gen<(bool Add, Draw Draw, int Reference)> ChangeDraws = Gen.Select(Gen.Bool, Draws, Gen.Int[0, 1 << 20]);

    /// <summary>
    /// Draws for the binary search on prefix lengths (LengthSearch): lengths uniform over the whole range three times
    /// in four, so that a class holds many of them, and mostly bindings related to an earlier one (inside it, around
    /// it, the same address at another length), so that markers sit inside shorter bindings and their best matching
    /// prefix differs from the binding they lead to; ports from the small pool, so that one port has many lengths.
    /// </summary>
    private static readonly Gen<Draw> SearchDraws = Draws.Select(draw => draw with
    {
        LengthKind = draw.LengthKind < 7 && draw.LengthKind % 4 != 0 ? 7 : draw.LengthKind,
        Kind = draw.Kind == 0 && draw.Reference % 3 != 0 ? 3 + draw.Reference % 2 : draw.Kind,
        PortKind = draw.PortKind >= 8 ? draw.PortKind % 8 : draw.PortKind,
    });

    /// <summary>Cases for the search form: every class hashed (inline limit 0), 30 to 1,500 bindings of <see cref="SearchDraws"/>.</summary>
    public static Gen<PropertyCase> SearchCases { get; } = Gen.Select(
        Gen.Frequency((3, Gen.Int[30, 400]), (1, Gen.Int[401, 1500])).SelectMany(count => SearchDraws.Array[count]), Labels, LookupDraws.Array[0, 40], ChangeDraws.Array[0, 3],
        (draws, labels, lookups, changes) => Build(draws, labels, 0, lookups, changes));

    /// <summary>Cases with <see cref="Counts"/> bindings.</summary>
    public static Gen<PropertyCase> Cases { get; } = CasesOf(Counts);

    /// <summary>Cases with <paramref name="counts"/> bindings.</summary>
    public static Gen<PropertyCase> CasesOf(Gen<int> counts) => Gen.Select(
        counts.SelectMany(count => Draws.Array[count]), Labels, InlineLimits, LookupDraws.Array[0, 40], ChangeDraws.Array[0, 3],
        (draws, labels, limit, lookups, changes) => Build(draws, labels, limit, lookups, changes));

    private static PropertyCase Build(Draw[] draws, LabelPlan[] labels, int inlineLimit, LookupDraw[] lookupDraws, (bool Add, Draw Draw, int Reference)[] changeDraws)
    {
        var bindings = new List<Binding>(draws.Length);
        var seen = new HashSet<BindingMatch>(draws.Length);
        foreach (var draw in draws)
        {
            var binding = Make(draw, bindings);
            if (seen.Add(binding.Match))
                bindings.Add(binding);
        }
        var lookups = lookupDraws.Select(draw => MakeLookup(draw, bindings)).ToList();
        var changes = new List<Change>();
        var current = new List<Binding>(bindings);
        foreach (var (add, draw, reference) in changeDraws)
        {
            if (add || current.Count == 0)
            {
                var binding = Make(draw, current);
                if (current.Any(b => b.Match == binding.Match))
                    continue;
                current.Add(binding);
                changes.Add(new Change(binding, Add: true));
            }
            else
            {
                var binding = current[reference % current.Count];
                current.Remove(binding);
                changes.Add(new Change(binding, Add: false));
            }
        }
        return new PropertyCase(bindings, labels, inlineLimit, lookups, changes);
    }

    /// <summary>Builds a binding from a draw and the bindings made so far.</summary>
    public static Binding Make(Draw draw, IReadOnlyList<Binding> before)
    {
        var reference = draw.Kind != 0 && before.Count > 0 ? before[draw.Reference % before.Count] : null;
        var v4 = reference is null ? !draw.V6 : reference.Family == Family.IPv4;
        var max = Bits(v4);
        var length = draw.LengthKind switch
        {
            0 => 0,
            1 or 2 => 1 + draw.Length % 8,
            3 or 4 or 5 => max,
            6 => max - 1 - draw.Length % 8,
            _ => draw.Length % (max + 1),
        };
        var random = (((UInt128)draw.High << 64) | draw.Low) & Max(v4);
        var address = random;
        if (reference is not null)
        {
            var (first, _) = Range(reference.Prefix);
            var referenceLength = reference.Prefix.PrefixLength;
            switch (draw.Kind)
            {
                case 1: // the same address, another length
                    address = first;
                    break;
                case 2 when referenceLength > 0: // the adjacent prefix of the same length
                    length = referenceLength;
                    address = first ^ ((UInt128)1 << (max - referenceLength));
                    break;
                case 3: // a prefix inside it
                    length = referenceLength + length % (max - referenceLength + 1);
                    address = first | (random & ~Mask(referenceLength, v4) & Max(v4));
                    break;
                case 4: // a prefix around it
                    length = Math.Min(length, referenceLength);
                    address = first;
                    break;
            }
        }
        var port = draw.PortKind switch
        {
            <= 3 => (ushort)0,
            <= 7 => PortPool[draw.Port % PortPool.Length],
            _ => draw.Port,
        };
        // Mostly the protocol of the binding it relates to, so that the relations fall in one traffic class.
        var protocol = reference is not null && draw.PortKind % 3 != 0 ? reference.Protocol : draw.Udp ? Protocol.Udp : Protocol.Tcp;
        return new Binding(LabelNames[draw.Label], protocol, Network(address, length, v4), port);
    }

    private static Lookup MakeLookup(LookupDraw draw, List<Binding> bindings)
    {
        var random = ((UInt128)draw.High << 64) | draw.Low;
        var reference = bindings.Count > 0 ? bindings[draw.Reference % bindings.Count] : null;
        var v4 = reference?.Family == Family.IPv4 || (reference is null && !draw.Udp);
        var address = random & Max(v4);
        if (draw.Inside && reference is not null)
        {
            var (first, _) = Range(reference.Prefix);
            address = first | (random & ~Mask(reference.Prefix.PrefixLength, v4) & Max(v4));
        }
        var port = draw.PortKind switch
        {
            0 or 1 when reference is not null && reference.Port != 0 => reference.Port,
            <= 3 => PortPool[draw.Port % PortPool.Length],
            _ => draw.Port,
        };
        var protocol = reference is not null && !draw.Udp ? reference.Protocol : draw.Port % 2 == 0 ? Protocol.Tcp : Protocol.Udp;
        var ip = FromNumber(address, v4);
        return new Lookup(protocol, v4 && draw.Mapped ? ip.MapToIPv6() : ip, port);
    }
}
