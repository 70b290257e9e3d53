using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SkLookup;

/// <summary>
/// Reads IP addresses, prefixes and end points in their canonical text forms only, so that what a user
/// writes is what gets bound. <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> also takes the legacy
/// BSD forms, in which <c>010.0.0.1</c> is 8.0.0.1 (octal), <c>1.2.3</c> is 1.2.0.3, <c>0x0a000001</c> is
/// 10.0.0.1 and <c>4294967295</c> is 255.255.255.255; here they are errors.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>IPv4: exactly four decimal octets 0 to 255 separated by dots, without leading zeros ("0" itself is fine),
/// signs or spaces.</item>
/// <item>IPv6: the text forms of RFC 4291 section 2.2, which RFC 5952 section 4 requires every implementation to
/// accept: eight groups of 1 to 4 hex digits (any case), at most one "::" standing for one or more zero groups, and
/// optionally a trailing IPv4 address in the form above in place of the last two groups. No zone index
/// (<c>%eth0</c>), no brackets except around the address of an end point.</item>
/// <item>Prefix lengths and ports: decimal, without leading zeros or signs.</item>
/// </list>
/// Each method that fails says why in one line, quoting the input with control characters escaped.
/// </remarks>
public static class AddressText
{
    /// <summary>Parses a canonical IPv4 or IPv6 address, or says why it is not one.</summary>
    public static bool TryParseAddress(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address, [NotNullWhen(false)] out string? reason)
    {
        address = null;
        if (text.IsEmpty)
        {
            reason = "it is empty";
            return false;
        }
        if (text.Contains(':'))
            return TryParseIPv6(text, out address, out reason);
        Span<byte> octets = stackalloc byte[4];
        if (!TryParseIPv4(text, octets, out reason))
            return false;
        address = new IPAddress(octets);
        return true;
    }

    /// <summary>Parses a canonical address; a <see cref="SteeringException"/> (<see cref="SteeringError.InvalidPrefix"/>) says why it is not one.</summary>
    /// <param name="text">The text.</param>
    /// <param name="what">What the text is, for the message, e.g. "address".</param>
    public static IPAddress ParseAddress(string text, string what = "address")
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParseAddress(text, out var address, out var reason)
            ? address
            : throw new SteeringException(SteeringError.InvalidPrefix, $"{what} '{TextEscape.Escape(text)}' is not valid: {reason}");
    }

    /// <summary>
    /// Parses "ADDRESS/LENGTH" or a bare address (a /32 or /128), in canonical form. Host bits are not
    /// checked here: <see cref="Binding.ParsePrefix(string)"/> refuses them.
    /// </summary>
    public static bool TryParsePrefix(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address, out int length, [NotNullWhen(false)] out string? reason)
    {
        length = 0;
        var slash = text.IndexOf('/');
        if (!TryParseAddress(slash < 0 ? text : text[..slash], out address, out reason))
            return false;
        var maxLength = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (slash < 0)
        {
            length = maxLength;
            return true;
        }
        if (!TryParseDecimal(text[(slash + 1)..], maxLength, out length))
        {
            address = null;
            reason = $"the length after '/' must be a decimal number from 0 to {maxLength}, without leading zeros";
            return false;
        }
        return true;
    }

    /// <summary>
    /// Parses "192.0.2.7:80" or "[2001:db8::1]:80" with canonical addresses and a port of 0 to 65535 (the
    /// caller decides whether 0 is allowed), or says why the text is not such an end point.
    /// </summary>
    public static bool TryParseEndPoint(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPEndPoint? endPoint, [NotNullWhen(false)] out string? reason)
    {
        endPoint = null;
        ReadOnlySpan<char> addressText, portText;
        if (text.StartsWith("["))
        {
            var close = text.IndexOf("]:");
            if (close < 0)
            {
                reason = "an IPv6 end point is [ADDRESS]:PORT, e.g. [2001:db8::1]:80";
                return false;
            }
            addressText = text[1..close];
            portText = text[(close + 2)..];
            if (!addressText.Contains(':'))
            {
                reason = "brackets are for IPv6 addresses only: write an IPv4 end point as 192.0.2.7:80";
                return false;
            }
        }
        else
        {
            var colon = text.IndexOf(':');
            if (colon < 0 || text[(colon + 1)..].Contains(':'))
            {
                reason = colon < 0 ? "it has no port: write ADDRESS:PORT, e.g. 192.0.2.7:80" : "an IPv6 end point needs brackets: [2001:db8::1]:80";
                return false;
            }
            addressText = text[..colon];
            portText = text[(colon + 1)..];
        }
        if (!TryParseAddress(addressText, out var address, out reason))
            return false;
        if (!TryParseDecimal(portText, 65535, out var port))
        {
            reason = "the port must be a decimal number from 0 to 65535, without leading zeros";
            return false;
        }
        endPoint = new IPEndPoint(address, port);
        return true;
    }

    /// <summary>A decimal number from 0 to <paramref name="max"/>: ASCII digits only, no sign, no leading zero.</summary>
    internal static bool TryParseDecimal(ReadOnlySpan<char> text, int max, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 10 || (text.Length > 1 && text[0] == '0'))
            return false;
        long result = 0;
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
                return false;
            result = result * 10 + (c - '0');
        }
        if (result > max)
            return false;
        value = (int)result;
        return true;
    }

    private static bool TryParseIPv4(ReadOnlySpan<char> text, Span<byte> octets, [NotNullWhen(false)] out string? reason)
    {
        var dots = text.Count('.');
        if (dots != 3 && !text.ContainsAnyExcept("0123456789.".AsSpan()))
        {
            reason = $"it has {dots + 1} part{(dots == 0 ? "" : "s")}: an IPv4 address has exactly four decimal octets, e.g. 192.0.2.1 (shortened or single-number forms such as 10.1 or 167772161 are not accepted)";
            return false;
        }
        var parts = 0;
        foreach (var range in text.Split('.'))
        {
            var part = text[range];
            if (parts == 4)
            {
                reason = "an IPv4 address has exactly four octets, e.g. 192.0.2.1";
                return false;
            }
            if (part.IsEmpty)
            {
                reason = "an octet is empty: write four decimal octets, e.g. 192.0.2.1";
                return false;
            }
            var octet = 0;
            foreach (var c in part)
            {
                octet = octet * 10 + (c - '0'); // Read as it is checked: a file's parser reads a million of these.
                if (!char.IsAsciiDigit(c))
                {
                    reason = part.Length > 1 && part[0] == '0' && (part[1] is 'x' or 'X')
                        ? "hexadecimal octets are not accepted: write four decimal octets, e.g. 10.0.0.1"
                        : "it is not an IPv4 address (four decimal octets such as 192.0.2.1) or an IPv6 address (such as 2001:db8::1)";
                    return false;
                }
            }
            if (part.Length > 1 && part[0] == '0')
            {
                reason = $"octet '{part}' has a leading zero, which other tools read as octal: write it without leading zeros";
                return false;
            }
            if (part.Length > 3 || octet > 255)
            {
                reason = $"octet {part} is greater than 255";
                return false;
            }
            octets[parts++] = (byte)octet;
        }
        if (parts != 4)
        {
            reason = $"it has {parts} octet{(parts == 1 ? "" : "s")}: an IPv4 address has exactly four, e.g. 192.0.2.1 (shortened forms such as 10.1 are not accepted)";
            return false;
        }
        reason = null;
        return true;
    }

    private static bool TryParseIPv6(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address, [NotNullWhen(false)] out string? reason)
    {
        address = null;
        const string Form = "write eight groups of 1 to 4 hex digits separated by ':', with at most one '::' for a run of zero groups, e.g. 2001:db8::1";
        if (text.Contains('%'))
        {
            reason = "a zone index (%...) is not accepted: a binding's address is the same on every interface";
            return false;
        }
        if (text.Contains('[') || text.Contains(']'))
        {
            reason = "brackets belong around the address of an end point only: write 2001:db8::1";
            return false;
        }
        var doubleColon = text.IndexOf("::");
        if (doubleColon >= 0 && text[(doubleColon + 1)..].IndexOf("::") >= 0)
        {
            reason = "it has more than one '::'; " + Form;
            return false;
        }
        Span<ushort> head = stackalloc ushort[8];
        Span<ushort> tail = stackalloc ushort[8];
        int headCount = 0, tailCount = 0;
        if (doubleColon < 0)
        {
            if (!TryParseGroups(text, head, ref headCount, allowIPv4Tail: true, out reason))
                return false;
            if (headCount != 8)
            {
                reason = $"it has {headCount} groups; " + Form;
                return false;
            }
        }
        else
        {
            var before = text[..doubleColon];
            var after = text[(doubleColon + 2)..];
            if ((!before.IsEmpty && !TryParseGroups(before, head, ref headCount, allowIPv4Tail: false, out reason)) ||
                (!after.IsEmpty && !TryParseGroups(after, tail, ref tailCount, allowIPv4Tail: true, out reason)))
            {
                reason ??= Form;
                return false;
            }
            if (headCount + tailCount > 7)
            {
                reason = "'::' must stand for at least one zero group, but the address has eight groups besides it; " + Form;
                return false;
            }
        }
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        for (var i = 0; i < headCount; i++)
        {
            bytes[i * 2] = (byte)(head[i] >> 8);
            bytes[(i * 2) + 1] = (byte)head[i];
        }
        for (var i = 0; i < tailCount; i++)
        {
            var at = 8 - tailCount + i;
            bytes[at * 2] = (byte)(tail[i] >> 8);
            bytes[(at * 2) + 1] = (byte)tail[i];
        }
        address = new IPAddress(bytes);
        reason = null;
        return true;
    }

    /// <summary>Groups separated by single colons; with <paramref name="allowIPv4Tail"/>, the last may be a dotted quad (two groups).</summary>
    private static bool TryParseGroups(ReadOnlySpan<char> text, Span<ushort> groups, ref int count, bool allowIPv4Tail, [NotNullWhen(false)] out string? reason)
    {
        reason = null;
        const string Form = "write eight groups of 1 to 4 hex digits separated by ':', with at most one '::' for a run of zero groups, e.g. 2001:db8::1";
        var start = 0;
        while (true)
        {
            var end = text[start..].IndexOf(':');
            var isLast = end < 0;
            var group = isLast ? text[start..] : text.Slice(start, end);
            start = isLast ? text.Length : start + end + 1;
            if (count >= 8)
            {
                reason = "it has more than eight groups; " + Form;
                return false;
            }
            if (group.Contains('.'))
            {
                if (!allowIPv4Tail || !isLast)
                {
                    reason = "an embedded IPv4 address may only stand at the end, e.g. ::ffff:192.0.2.1";
                    return false;
                }
                Span<byte> octets = stackalloc byte[4];
                if (!TryParseIPv4(group, octets, out var inner))
                {
                    reason = $"its embedded IPv4 address '{TextEscape.Escape(group.ToString())}' is not valid: {inner}";
                    return false;
                }
                if (count > 6)
                {
                    reason = "it has more than eight groups; " + Form;
                    return false;
                }
                groups[count++] = (ushort)((octets[0] << 8) | octets[1]);
                groups[count++] = (ushort)((octets[2] << 8) | octets[3]);
                return true;
            }
            if (group.IsEmpty || group.Length > 4)
            {
                reason = group.IsEmpty
                    ? "it has an empty group (a single ':' at the start or end, or ':::'); " + Form
                    : $"group '{TextEscape.Escape(group.ToString())}' has more than 4 hex digits; " + Form;
                return false;
            }
            ushort value = 0;
            foreach (var c in group)
            {
                if (!char.IsAsciiHexDigit(c))
                {
                    reason = $"group '{TextEscape.Escape(group.ToString())}' is not hexadecimal; " + Form;
                    return false;
                }
                value = (ushort)((value << 4) | (ushort)HexValue(c));
            }
            groups[count++] = value;
            if (isLast)
                return true;
        }
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
