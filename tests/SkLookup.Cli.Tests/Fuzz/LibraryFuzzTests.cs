using System.Net;
using CsCheck;

namespace SkLookup.Cli.Tests.Fuzz;

/// <summary>
/// The library's parsers at volume (no kernel needed): the address reader never accepts text that means
/// something else, and the bindings file reader refuses every bad document with one clean line.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class LibraryFuzzTests
{
    [Fact]
    public void CanonicalAddressesRoundTrip()
    {
        var trials = FuzzBudget.Trials(20_000);
        Run("addresses", "canonical IPv4 and IPv6 text (RFC 5952, uncompressed, upper case) reads back as the same address", trials,
            "random 4- and 16-byte addresses printed by .NET (RFC 5952), uncompressed with leading zeros in groups, and in upper case; each must parse to the same bytes",
            () => Gen.OneOf(Gen.Byte.Array[4], Gen.Byte.Array[16]).Sample(bytes =>
            {
                var address = new IPAddress(bytes);
                var forms = bytes.Length == 4
                    ? new[] { address.ToString() }
                    : [address.ToString(), address.ToString().ToUpperInvariant(), string.Join(':', Enumerable.Range(0, 8).Select(i => ((bytes[2 * i] << 8) | bytes[(2 * i) + 1]).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)))];
                foreach (var form in forms)
                {
                    Assert.True(AddressText.TryParseAddress(form, out var parsed, out var reason), $"{form}: {reason}");
                    Assert.Equal(address, parsed);
                }
            }, iter: trials, threads: 1));
    }

    [Fact]
    public void AcceptedTextMeansWhatOtherParsersRead()
    {
        var trials = FuzzBudget.Trials(50_000);
        Run("addresses", "any text the reader accepts is an address that .NET reads the same, and IPv4 text is canonical", trials,
            "random strings of 0 to 40 characters from the alphabet of addresses (digits, hex letters, x, '.', ':', '%', brackets, space); accepted ones are compared with IPAddress.Parse, and accepted IPv4 text with its canonical printing",
            () => Gen.Char["0123456789abcdefABCDEFx.:%[] "].Array[0, 40].Select(c => new string(c)).Sample(text =>
            {
                if (!AddressText.TryParseAddress(text, out var address, out var reason))
                {
                    Assert.False(string.IsNullOrEmpty(reason));
                    return;
                }
                Assert.True(IPAddress.TryParse(text, out var other), text);
                Assert.Equal(other, address);
                if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    Assert.Equal(address.ToString(), text);
            }, iter: trials, threads: 1));
    }

    [Fact]
    public void BadPrefixesAreRefusedWithOneLine()
    {
        var trials = FuzzBudget.Trials(20_000);
        Run("addresses", "generated bad prefixes are refused with one clean line", trials,
            "the fuzzer's bad-prefix generator (legacy IPv4 forms, host bits, bad lengths, zones, brackets, malformed IPv6, garbage) through Binding.ParsePrefix",
            () => Inputs.BadPrefix.Sample(text =>
            {
                var error = Assert.Throws<SteeringException>(() => Binding.ParsePrefix(text));
                AssertOneCleanLine(error.Message);
            }, iter: trials, threads: 1));
    }

    [Fact]
    public void BadDocumentsAreRefusedWithOneLine()
    {
        var trials = FuzzBudget.Trials(10_000);
        Run("apply-files", "bad documents are refused by the reader with InvalidFile and one clean line", trials,
            "the apply-file fuzzer's bad documents through BindingsFile.ParseDocument: only SteeringException(InvalidFile) may come out",
            () => Files.BadDocument.Sample(bytes =>
            {
                var error = Assert.Throws<SteeringException>(() => BindingsFile.ParseDocument(bytes));
                Assert.Equal(SteeringError.InvalidFile, error.Error);
                AssertOneCleanLine(error.Message);
            }, iter: trials, threads: 1, print: Files.Print));
    }

    [Fact]
    public void GoodDocumentsAreRead()
    {
        var trials = FuzzBudget.Trials(5_000);
        Run("apply-files", "good documents (tubular and ours) are read", trials,
            "valid documents of 1 to 6 entries, with and without protocol, port and label options, through BindingsFile.ParseDocument",
            () => Files.GoodDocument.Sample(text => Assert.NotEmpty(BindingsFile.ParseDocument(text).Bindings), iter: trials, threads: 1));
    }

    private static void Run(string category, string property, int trials, string method, Action sample)
    {
        var failures = 0;
        try
        {
            sample();
        }
        catch
        {
            failures++;
            throw;
        }
        finally
        {
            FuzzBudget.Record(category, property, trials, failures, method);
        }
    }

    internal static void AssertOneCleanLine(string message)
    {
        Assert.False(string.IsNullOrWhiteSpace(message));
        foreach (var c in message)
            Assert.False(char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format, $"U+{(int)c:X4} in: {message}");
    }
}
