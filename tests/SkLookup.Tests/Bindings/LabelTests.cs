namespace SkLookup.Tests.Bindings;

/// <summary>The documented label rules: valid UTF-8 with one spelling, no invisible characters, no option look-alikes.</summary>
public sealed class LabelTests
{
    [Theory]
    [InlineData("web")]
    [InlineData("dns-v2")]
    [InlineData("team:a/api_1.0")]
    [InlineData("café")]
    [InlineData("日本")]
    [InlineData("a-label-of-exactly-sixty-three-bytes-which-is-the-limit-0123456")]
    public void ValidLabelsPass(string label) => Assert.Equal(label, Label.Validate(label));

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("a b", "whitespace")]
    [InlineData("a\u00a0b", "whitespace")]
    [InlineData("a\tb", "U+0009")]
    [InlineData("a\u001b[31m", "U+001B")]
    [InlineData("a\0", "U+0000")]
    [InlineData("a\u200bb", "U+200B")]           // zero-width space: looks like "ab"
    [InlineData("a\u202eb", "U+202E")]           // right-to-left override
    [InlineData("a\ufffd", "U+FFFD")]            // what invalid UTF-8 decodes to
    [InlineData("a\ue000", "U+E000")]            // private use
    [InlineData("-web", "starts with '-'")]
    [InlineData("--frob", "starts with '-'")]
    [InlineData("a-label-of-sixty-four-bytes-which-is-just-over-the-limit-0123456", "64 bytes")]
    [InlineData("ééééééééééééééééééééééééééééééééa", "65 bytes")]
    public void InvalidLabelsAreRefusedWithTheReason(string label, string mentions) => AssertRefused(label, mentions);

    [Fact]
    public void ALoneSurrogateIsRefused() => AssertRefused("a" + (char)0xD800, "lone surrogate"); // not an InlineData: xunit would mangle it

    private static void AssertRefused(string label, string mentions)
    {
        var error = Assert.Throws<SteeringException>(() => Label.Validate(label));
        Assert.Equal(SteeringError.InvalidLabel, error.Error);
        Assert.Contains(mentions, error.Message);
        foreach (var c in error.Message)
            Assert.False(char.IsControl(c), $"U+{(int)c:X4} in the message");
    }
}
