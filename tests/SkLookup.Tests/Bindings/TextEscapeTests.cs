namespace SkLookup.Tests.Bindings;

/// <summary>Messages never carry raw control or format characters.</summary>
public sealed class TextEscapeTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\u001b[2Jb", @"a\x1b[2Jb")]
    [InlineData("nul\0", @"nul\x00")]
    [InlineData("line\nbreak\r", @"line\x0abreak\x0d")]
    [InlineData("del\u007f c1\u0085", @"del\x7f c1\x85")]
    [InlineData("rlo\u202e", @"rlo\u{202E}")]
    [InlineData("back\\slash", @"back\\slash")]
    [InlineData("emoji \U0001F600", "emoji \U0001F600")]
    public void EscapesWhatATerminalWouldObey(string text, string expected) => Assert.Equal(expected, TextEscape.Escape(text));

    [Fact]
    public void LoneSurrogatesAreEscaped() => Assert.Equal(@"lone\u{D800}", TextEscape.Escape("lone" + (char)0xD800));

    [Fact]
    public void SanitizeKeepsBackslashesAndNewlines() =>
        Assert.Equal("a\\x1b\n\\x1b", TextEscape.Sanitize("a\\x1b\n\u001b"));
}
