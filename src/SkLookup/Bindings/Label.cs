using System.Globalization;
using System.Text;

namespace SkLookup;

/// <summary>
/// Labels name destinations. They travel in map keys as UTF-8, so their length is bounded, and they are
/// compared byte for byte, so nothing invisible or undecodable may hide in them.
/// </summary>
/// <remarks>
/// A label is 1 to <see cref="MaxBytes"/> bytes of valid UTF-8 made of letters, marks, digits, punctuation
/// and symbols (Unicode categories L, M, N, P and S). It has no spaces,
/// control or format characters (such as U+200B or U+202E), unassigned or private-use code points, and no
/// U+FFFD: that is what invalid UTF-8 decodes to, so "\xff" and "\xfe" would otherwise be one label. It does
/// not begin with '-', so it is never taken for an option. Examples: <c>web</c>, <c>dns-v2</c>,
/// <c>team:a/api</c>, <c>café</c>. Labels are compared byte for byte, as tubular compares them: a label
/// written composed ("café", U+00E9) and one written decomposed ("cafe" and U+0301) are two labels. (The tool
/// runs with invariant globalization, which has no Unicode normalization tables to check this.)
/// </remarks>
public static class Label
{
    /// <summary>The longest label, in UTF-8 bytes.</summary>
    public const int MaxBytes = 63;

    /// <summary>The rule, in one phrase, for messages and help texts.</summary>
    public const string Rule = "1 to 63 bytes of UTF-8 letters, digits, punctuation and symbols, not starting with '-'";

    /// <summary>Throws <see cref="SteeringError.InvalidLabel"/> unless <paramref name="label"/> follows the rules in the remarks.</summary>
    public static string Validate(string label)
    {
        if (TryValidate(label, out var reason))
            return label;
        throw new SteeringException(SteeringError.InvalidLabel, reason);
    }

    /// <summary>True if <paramref name="label"/> is valid; otherwise <paramref name="reason"/> says why, in one line.</summary>
    public static bool TryValidate(string? label, out string reason)
    {
        reason = "";
        if (string.IsNullOrEmpty(label))
        {
            reason = "a label must not be empty";
            return false;
        }
        var shown = Shorten(TextEscape.Escape(label));
        if (label[0] == '-')
        {
            reason = $"label '{shown}' starts with '-', which is for options: labels are {Rule}";
            return false;
        }
        var span = label.AsSpan();
        while (!span.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(span, out var rune, out var used) != System.Buffers.OperationStatus.Done)
            {
                reason = $"label '{shown}' is not valid Unicode (a lone surrogate): labels are {Rule}";
                return false;
            }
            span = span[used..];
            if (rune.Value == 0xFFFD)
            {
                reason = $"label '{shown}' contains U+FFFD, the replacement character that invalid UTF-8 turns into: give the label as valid UTF-8";
                return false;
            }
            switch (Rune.GetUnicodeCategory(rune))
            {
                case UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator:
                    reason = $"label '{shown}' contains whitespace: labels are {Rule}";
                    return false;
                case UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned:
                    reason = $"label '{shown}' contains U+{rune.Value:X4}, a control, format, private-use or unassigned character: labels are {Rule}";
                    return false;
            }
            if (Rune.IsWhiteSpace(rune))
            {
                reason = $"label '{shown}' contains whitespace: labels are {Rule}";
                return false;
            }
        }
        var bytes = Encoding.UTF8.GetByteCount(label);
        if (bytes > MaxBytes)
        {
            reason = $"label '{shown}' is {bytes} bytes long: the limit is {MaxBytes} bytes of UTF-8";
            return false;
        }
        return true;
    }

    private static string Shorten(string label) => label.Length > 40 ? label[..37] + "..." : label;
}
