using System.Globalization;
using System.Text;

namespace SkLookup;

/// <summary>
/// Makes text from outside (arguments, files, names read from the kernel) safe to print in a message: a
/// terminal must never receive an escape sequence, a NUL or a bidirectional override from it.
/// </summary>
public static class TextEscape
{
    /// <summary>
    /// <paramref name="text"/> with every control character (C0, DEL, C1), format character (such as U+202E,
    /// the right-to-left override), line or paragraph separator and lone surrogate written as <c>\xNN</c> or
    /// <c>\u{NNNN}</c>, and every backslash doubled, so the result is one line that shows what was given.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!NeedsEscape(text, keepNewlines: false, backslashes: true))
            return text;
        return EscapeCore(text, keepNewlines: false, backslashes: true);
    }

    /// <summary>
    /// The last line of defence for a whole message: escapes what <see cref="Escape"/> escapes, except that
    /// backslashes stay as they are (parts escaped already keep their look) and line feeds and carriage
    /// returns are kept, for the caller to join the lines.
    /// </summary>
    public static string Sanitize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!NeedsEscape(text, keepNewlines: true, backslashes: false))
            return text;
        return EscapeCore(text, keepNewlines: true, backslashes: false);
    }

    private static bool NeedsEscape(string text, bool keepNewlines, bool backslashes)
    {
        foreach (var c in text)
            if ((backslashes && c == '\\') || (IsUnsafe(c) && !(keepNewlines && c is '\n' or '\r')))
                return true;
        return false;
    }

    private static string EscapeCore(string text, bool keepNewlines, bool backslashes)
    {
        var builder = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var rune = new Rune(c, text[i + 1]);
                var category = Rune.GetUnicodeCategory(rune);
                if (category is UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
                    builder.Append(CultureInfo.InvariantCulture, $"\\u{{{rune.Value:X4}}}");
                else
                    builder.Append(c).Append(text[i + 1]);
                i++;
                continue;
            }
            if (backslashes && c == '\\')
                builder.Append(@"\\");
            else if (keepNewlines && c is '\n' or '\r')
                builder.Append(c);
            else if (!IsUnsafe(c))
                builder.Append(c);
            else if (c < 0x100)
                builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else
                builder.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:X4}}}");
        }
        return builder.ToString();
    }

    private static bool IsUnsafe(char c) =>
        char.IsControl(c) || char.IsSurrogate(c) ||
        CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
