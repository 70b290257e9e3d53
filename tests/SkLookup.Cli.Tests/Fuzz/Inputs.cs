using System.Globalization;
using System.Net;
using CsCheck;

namespace SkLookup.Cli.Tests.Fuzz;

/// <summary>
/// Generators of command-line words and file values, each either valid or invalid by construction, so
/// that a property knows which answer is right without asking the code under test.
/// </summary>
internal static class Inputs
{
    private const string LabelChars = "abcdefghijklmnopqrstuvwxyz0123456789_:/.";

    /// <summary>A valid label: ASCII, 1 to 20 characters, not starting with '-'.</summary>
    public static readonly Gen<string> GoodLabel = Gen.OneOf(
        Gen.OneOf("web", "dns", "proxy", "café", "team:a/api"),
        Gen.Char[LabelChars].Array[1, 20].Select(chars => new string(chars)));

    /// <summary>An invalid label: a control, format or replacement character, whitespace, a leading '-', or too long.</summary>
    public static readonly Gen<string> BadLabel = Gen.OneOf(
        Gen.Select(GoodLabel, Gen.OneOf('\0', '\u001b', '\u0007', '\n', '\r', '\t', '\u007f', '\u0085', '\u009b', '\u200b', '\u202e', '\u2028', '\ufffd', '\ue000', ' ', '\u00a0', '\u3000'), Gen.Int[0, 20],
            (label, bad, at) => label.Insert(Math.Min(at, label.Length), bad.ToString())),
        Gen.Select(GoodLabel, label => "-" + label).Where(option => option is not ("-h" or "-?")), // those are --help, rightly
        Gen.Int[64, 200].Select(n => new string('l', n)),
        Gen.Int[32, 40].Select(n => string.Concat(Enumerable.Repeat("é", n))),
        Gen.Const(""));

    /// <summary>A valid IPv4 or IPv6 prefix with no host bits, in canonical text.</summary>
    public static readonly Gen<string> GoodPrefix = Gen.OneOf(
        Gen.Select(Gen.Byte.Array[4], Gen.Int[0, 32], (bytes, length) => Prefix(bytes, length)),
        Gen.Select(Gen.Byte.Array[16], Gen.Int[0, 128], (bytes, length) => Prefix(bytes, length)));

    /// <summary>An invalid prefix: legacy IPv4 forms, host bits, bad lengths, zones, brackets, spaces, garbage.</summary>
    public static readonly Gen<string> BadPrefix = Gen.OneOf(
        // A leading zero in one octet (read as octal by inet_aton).
        Gen.Select(Gen.Byte.Array[4], Gen.Int[0, 3], Gen.Int[1, 2], (b, at, zeros) =>
            string.Join('.', b.Select((o, i) => i == at ? new string('0', zeros) + o.ToString(CultureInfo.InvariantCulture) : o.ToString(CultureInfo.InvariantCulture)))),
        // One, two, three or five parts.
        Gen.Select(Gen.Int[0, 255].Array[1, 3], parts => string.Join('.', parts)),
        Gen.Select(Gen.Int[0, 255].Array[5, 6], parts => string.Join('.', parts)),
        // A single number up to 2^32 - 1, and hexadecimal forms.
        Gen.UInt.Select(n => n.ToString(CultureInfo.InvariantCulture)),
        Gen.UInt.Select(n => "0x" + n.ToString("x8", CultureInfo.InvariantCulture)),
        Gen.Select(Gen.Byte.Array[4], b => "0x" + b[0].ToString("x2", CultureInfo.InvariantCulture) + "." + b[1] + "." + b[2] + "." + b[3]),
        // An octet over 255.
        Gen.Select(Gen.Int[256, 99999], Gen.Byte, (big, o) => $"{o}.{big}.{o}.{o}"),
        // Host bits set.
        Gen.Select(Gen.Byte.Array[4], Gen.Int[0, 31], (b, length) => HostBits(b, length)),
        Gen.Select(Gen.Byte.Array[16], Gen.Int[0, 127], (b, length) => HostBits(b, length)),
        // Bad lengths: too long, leading zeros, signs, spaces, empty.
        Gen.Select(GoodPrefix, Gen.OneOf("/129", "/33x", "/024", "/+8", "/-1", "/ 8", "/", "//8", "/8/8", "/1e1", "/0x8", "/８"),
            (prefix, length) => prefix.Split('/')[0] + length),
        // Zones, brackets, spaces around, a v4-mapped prefix.
        Gen.Select(GoodPrefix, Gen.OneOf("%eth0", " ", "\t", "\n", "\0", "\u001b[2J"), (prefix, suffix) => prefix.Split('/')[0] + suffix),
        Gen.Select(GoodPrefix, prefix => "[" + prefix.Split('/')[0] + "]"),
        Gen.Select(GoodPrefix, prefix => " " + prefix),
        Gen.Select(Gen.Byte.Array[4], b => $"::ffff:{b[0]}.{b[1]}.{b[2]}.{b[3]}"),
        // Malformed IPv6.
        Gen.OneOf("1::2::3", ":::", ":1::", "1::2:", "12345::", "g::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::ffff:1.2.3", "1.2.3.4::", "::1:"),
        // Garbage made of the characters addresses use.
        Gen.Char["0123456789abcdefxABCDEF.:/%[] "].Array[0, 30].Select(chars => new string(chars)).Where(IsNotAPrefix));

    /// <summary>A valid port word.</summary>
    public static readonly Gen<string> GoodPort = Gen.OneOf(Gen.Int[0, 65535].Select(p => p.ToString(CultureInfo.InvariantCulture)), Gen.OneOf("any", "*"));

    /// <summary>An invalid port word.</summary>
    public static readonly Gen<string> BadPort = Gen.OneOf(
        Gen.Int[65536, int.MaxValue].Select(p => p.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[0, 65535].Select(p => "0" + p.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[1, 65535].Select(p => "-" + p.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[1, 65535].Select(p => "+" + p.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[1, 65535].Select(p => "0x" + p.ToString("x", CultureInfo.InvariantCulture)),
        Gen.OneOf("", "ANY", "http", "80 ", " 80", "8\u00a00", "٨٠", "99999999999999999999", "80\0", "1e3"));

    /// <summary>A valid protocol word.</summary>
    public static readonly Gen<string> GoodProtocol = Gen.OneOf("tcp", "udp", "TCP", "Udp");

    /// <summary>An invalid protocol word.</summary>
    public static readonly Gen<string> BadProtocol = Gen.OneOf(
        Gen.OneOf("", "sctp", "icmp", "tcp6", "tcp\0", "ｔｃｐ", "tc", "6", "17", "udp "),
        Gen.Char['a', 'z'].Array[1, 6].Select(c => new string(c)).Where(p => p is not ("tcp" or "udp")));

    /// <summary>A word that looks like an option but is none of the command's.</summary>
    public static readonly Gen<string> UnknownOption = Gen.OneOf(
        Gen.Char['a', 'z'].Array[1, 10].Select(c => "--" + new string(c)).Where(o => o is not ("--json" or "--netns" or "--bpffs" or "--help" or "--version" or "--dry-run" or "--from" or "--no-owners" or "--dual-stack" or "--listen" or "--read-timeout" or "--force" or "--program" or "--pin" or "--link-pin")),
        Gen.Char['a', 'z'].Select(c => "-" + c).Where(o => o is not ("-h")),
        Gen.OneOf("--frob", "---", "-\u001b"));

    /// <summary>A valid end point, "ADDRESS:PORT" or "[ADDRESS]:PORT", with port 1 to 65535.</summary>
    public static readonly Gen<string> GoodEndPoint = Gen.OneOf(
        Gen.Select(Gen.Byte.Array[4], Gen.Int[1, 65535], (b, port) => $"{new IPAddress(b)}:{port}"),
        Gen.Select(Gen.Byte.Array[16], Gen.Int[1, 65535], (b, port) => $"[{new IPAddress(b)}]:{port}"));

    /// <summary>An invalid end point.</summary>
    public static readonly Gen<string> BadEndPoint = Gen.OneOf(
        // Not a bracketed address: "[2001:db8::]" is a bad prefix, but with a port it is a good end point.
        Gen.Select(BadPrefix.Where(p => !p.StartsWith('[')), GoodPort, (address, port) => $"{address}:{port}"),
        Gen.Select(Gen.Byte.Array[4], BadPort, (b, port) => $"{new IPAddress(b)}:{port}"),
        Gen.Select(Gen.Byte.Array[4], b => new IPAddress(b).ToString()),
        Gen.Select(Gen.Byte.Array[4], b => $"{new IPAddress(b)}:0"),
        Gen.Select(Gen.Byte.Array[16], Gen.Int[1, 65535], (b, port) => $"{new IPAddress(b)}:{port}"),
        Gen.Select(Gen.Byte.Array[4], Gen.Int[1, 65535], (b, port) => $"[{new IPAddress(b)}]:{port}"));

    private static string Prefix(byte[] bytes, int length) => $"{Mask(bytes, length)}/{length}";

    private static IPAddress Mask(byte[] bytes, int length)
    {
        var copy = (byte[])bytes.Clone();
        for (var bit = length; bit < copy.Length * 8; bit++)
            copy[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        var address = new IPAddress(copy);
        // A v4-mapped IPv6 prefix is refused, rightly: keep the good ones out of that range.
        return address.IsIPv4MappedToIPv6 ? new IPAddress(new byte[16]) : address;
    }

    /// <summary>A prefix with at least one host bit set.</summary>
    private static string HostBits(byte[] bytes, int length)
    {
        var copy = (byte[])Mask(bytes, length).GetAddressBytes().Clone();
        var bit = copy.Length * 8 - 1;
        copy[bit / 8] |= 1;
        return $"{new IPAddress(copy)}/{length}";
    }

    private static bool IsNotAPrefix(string text)
    {
        try
        {
            Binding.ParsePrefix(text);
            return false;
        }
        catch (SteeringException)
        {
            return true;
        }
    }
}
