using System.Net;

namespace SkLookup.Tests.Bindings;

/// <summary>Only canonical address text is read, so what a user writes is what gets bound (issue: 010.0.0.1 bound 8.0.0.1).</summary>
public sealed class AddressTextTests
{
    [Theory]
    [InlineData("0.0.0.0", "0.0.0.0")]
    [InlineData("192.0.2.1", "192.0.2.1")]
    [InlineData("255.255.255.255", "255.255.255.255")]
    [InlineData("10.0.0.100", "10.0.0.100")]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("2001:DB8::A", "2001:db8::a")]
    [InlineData("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1")]
    [InlineData("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1")]
    [InlineData("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0")]
    [InlineData("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8")]
    [InlineData("::ffff:192.0.2.1", "::ffff:192.0.2.1")]
    [InlineData("64:ff9b::192.0.2.1", "64:ff9b::c000:201")]
    [InlineData("1:2:3:4:5:6:192.0.2.1", "1:2:3:4:5:6:c000:201")]
    public void CanonicalFormsAreRead(string text, string expected)
    {
        Assert.True(AddressText.TryParseAddress(text, out var address, out var reason), reason);
        Assert.Equal(IPAddress.Parse(expected), address);
    }

    [Theory]
    [InlineData("010.0.0.1", "leading zero")]        // 8.0.0.1 to inet_aton
    [InlineData("00.0.0.0", "leading zero")]
    [InlineData("1.2.3", "3 parts")]                // 1.2.0.3 to inet_aton
    [InlineData("10.1", "2 parts")]
    [InlineData("4294967295", "1 part")]            // 255.255.255.255 to inet_aton
    [InlineData("167772161", "1 part")]
    [InlineData("0x0a000001", "hexadecimal")]
    [InlineData("0x0a.0.0.1", "hexadecimal")]
    [InlineData("1.2.3.4.5", "exactly four")]
    [InlineData("256.0.0.1", "greater than 255")]
    [InlineData("1.2.3.0256", "leading zero")]
    [InlineData("1.2..4", "empty")]
    [InlineData("1.2.3.4.", "exactly four")]
    [InlineData(" 1.2.3.4", "not an IPv4")]
    [InlineData("1.2.3.4 ", "not an IPv4")]
    [InlineData("+1.2.3.4", "not an IPv4")]
    [InlineData("１.2.3.4", "not an IPv4")]          // a fullwidth digit
    [InlineData("", "empty")]
    [InlineData("::1%eth0", "zone index")]
    [InlineData("[::1]", "brackets")]
    [InlineData("1::2::3", "more than one '::'")]
    [InlineData(":::", "more than one '::'")]
    [InlineData(":1::2", "empty group")]
    [InlineData("1::2:", "empty group")]
    [InlineData("1:2:3:4:5:6:7:8:9", "more than eight")]
    [InlineData("1:2:3:4:5:6:7", "7 groups")]
    [InlineData("1:2:3:4:5:6:7:8::", "at least one zero group")]
    [InlineData("12345::", "more than 4 hex digits")]
    [InlineData("g::", "not hexadecimal")]
    [InlineData("::ffff:1.2.3", "embedded IPv4")]
    [InlineData("::ffff:010.0.0.1", "embedded IPv4")]
    [InlineData("1.2.3.4::", "only stand at the end")]
    [InlineData("1:2:3:4:5:6:7:1.2.3.4", "more than eight")]
    public void LegacyAndMalformedFormsAreRefusedWithAReason(string text, string mentions)
    {
        Assert.False(AddressText.TryParseAddress(text, out var address, out var reason));
        Assert.Null(address);
        Assert.Contains(mentions, reason);
    }

    [Theory]
    [InlineData("192.0.2.0/24", "192.0.2.0", 24)]
    [InlineData("192.0.2.7", "192.0.2.7", 32)]
    [InlineData("2001:db8::/32", "2001:db8::", 32)]
    [InlineData("::/0", "::", 0)]
    public void PrefixesAreRead(string text, string address, int length)
    {
        Assert.True(AddressText.TryParsePrefix(text, out var parsed, out var parsedLength, out var reason), reason);
        Assert.Equal(IPAddress.Parse(address), parsed);
        Assert.Equal(length, parsedLength);
    }

    [Theory]
    [InlineData("192.0.2.0/024")]
    [InlineData("192.0.2.0/+24")]
    [InlineData("192.0.2.0/33")]
    [InlineData("192.0.2.0/")]
    [InlineData("192.0.2.0/ 24")]
    [InlineData("2001:db8::/129")]
    [InlineData("192.0.2.0/24/8")]
    public void BadPrefixLengthsAreRefused(string text) =>
        Assert.False(AddressText.TryParsePrefix(text, out _, out _, out _));

    [Theory]
    [InlineData("192.0.2.7:80", "192.0.2.7", 80)]
    [InlineData("[2001:db8::1]:53", "2001:db8::1", 53)]
    [InlineData("127.0.0.1:0", "127.0.0.1", 0)]
    public void EndPointsAreRead(string text, string address, int port)
    {
        Assert.True(AddressText.TryParseEndPoint(text, out var endPoint, out var reason), reason);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), endPoint);
    }

    [Theory]
    [InlineData("192.0.2.7")]
    [InlineData("192.0.2.7:080")]
    [InlineData("192.0.2.7:65536")]
    [InlineData("010.0.0.1:80")]
    [InlineData("2001:db8::1:80")]
    [InlineData("[2001:db8::1]")]
    [InlineData("[192.0.2.7]:80")]
    [InlineData("[::1%lo]:80")]
    [InlineData("192.0.2.7:-1")]
    public void BadEndPointsAreRefused(string text) =>
        Assert.False(AddressText.TryParseEndPoint(text, out _, out _));

    [Theory]
    [InlineData("010.0.0.1")]
    [InlineData("1.2.3")]
    [InlineData("0x0a000001")]
    [InlineData("4294967295")]
    [InlineData("012.1/16")]
    public void BindingsRefuseTheLegacyForms(string prefix)
    {
        var error = Assert.Throws<SteeringException>(() => Binding.Parse("web", "tcp", prefix, "80"));
        Assert.Equal(SteeringError.InvalidPrefix, error.Error);
    }

    [Theory]
    [InlineData("080")]
    [InlineData("+80")]
    [InlineData(" 80")]
    [InlineData("0x50")]
    [InlineData("-0")]
    public void PortsAreDecimalWithoutLeadingZeros(string port) =>
        Assert.Equal(SteeringError.InvalidPort, Assert.Throws<SteeringException>(() => Binding.ParsePort(port)).Error);
}
