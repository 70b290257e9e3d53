namespace SkLookup.Tests.Files;

/// <summary>Parsing of bindings files: tubular's format, ours, and the errors.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class BindingsFileTests
{
    private static Binding B(string label, string protocol, string prefix, string port) => Binding.Parse(label, protocol, prefix, port);

    [Fact]
    public void ReadsTubularFiles()
    {
        // tubular's own test file: no protocol (both), no port (any), and host bits that tubular clears.
        const string text = """
            {
                "bindings": [
                    { "label": "foo", "prefix": "127.0.0.1/32" },
                    { "label": "bar", "prefix": "::1/64" }
                ]
            }
            """;
        Assert.Equal(
            [B("foo", "tcp", "127.0.0.1/32", "0"), B("foo", "udp", "127.0.0.1/32", "0"), B("bar", "tcp", "::/64", "0"), B("bar", "udp", "::/64", "0")],
            BindingsFile.Parse(text));
    }

    [Fact]
    public void ReadsTubularEntriesWithPorts()
    {
        const string text = """{"bindings":[{"label":"foo","prefix":"1.2.3.0/24","port":80}]}""";
        Assert.Equal([B("foo", "tcp", "1.2.3.0/24", "80"), B("foo", "udp", "1.2.3.0/24", "80")], BindingsFile.Parse(text));
    }

    [Fact]
    public void ReadsOurFormatWithLabelOptions()
    {
        const string text = """
            {
              // Comments and trailing commas are fine.
              "bindings": [
                { "label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80 },
                { "label": "dns", "protocol": "udp", "prefix": "2001:db8::53", "port": "53" },
                { "label": "any", "protocol": "TCP", "prefix": "198.51.100.0/24", "port": "any" },
              ],
              "labels": { "web": { "fallThrough": true }, "dns": {} }
            }
            """;
        var document = BindingsFile.ParseDocument(text);
        Assert.Equal([B("web", "tcp", "192.0.2.0/24", "80"), B("dns", "udp", "2001:db8::53/128", "53"), B("any", "tcp", "198.51.100.0/24", "0")], document.Bindings);
        Assert.Equal(new LabelOptions(true), document.Labels["web"]);
        Assert.Equal(new LabelOptions(false), document.Labels["dns"]);
    }

    [Theory]
    [InlineData("""{"bindings":[{"label":"a","prefix":"192.0.2.0/24"}, {"label":"b","prefix":"192.0.2.0/33"}]}""", "bindings[1]: prefix '192.0.2.0/33'")]
    [InlineData("""{"bindings":[{"label":"a","protocol":"tcp","prefix":"192.0.2.1/24","port":80}]}""", "bindings[0]: prefix '192.0.2.1/24' has host bits set")]
    [InlineData("""{"bindings":[{"label":"a","protocol":"sctp","prefix":"192.0.2.0/24"}]}""", "bindings[0]: protocol 'sctp'")]
    [InlineData("""{"bindings":[{"label":"a","protocol":"tcp","prefix":"192.0.2.0/24","port":70000}]}""", "bindings[0]: port 70000")]
    [InlineData("""{"bindings":[{"label":"a","protocol":"tcp","prefix":"192.0.2.0/24","port":true}]}""", "bindings[0]: \"port\" must be")]
    [InlineData("""{"bindings":[{"label":"","prefix":"192.0.2.0/24"}]}""", "bindings[0]: a label must not be empty")]
    [InlineData("""{"bindings":[{"prefix":"192.0.2.0/24"}]}""", "bindings[0]: \"label\" is missing")]
    [InlineData("""{"bindings":[{"label":"a"}]}""", "bindings[0]: \"prefix\" is missing")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"192.0.2.0/24","extra":1}]}""", "bindings[0]: unknown field \"extra\"")]
    [InlineData("""{"bindings":[], "more": 1}""", "unknown field \"more\"")]
    [InlineData("""{"labels":{}}""", "needs a \"bindings\" array")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    [InlineData("""{"bindings":[""", "not valid JSON (line 1")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"192.0.2.0/24"},{"label":"b","protocol":"udp","prefix":"192.0.2.0/24"}]}""", "bindings[1] binds udp 192.0.2.0/24 port any to 'b', but bindings[0] binds it to 'a'")]
    [InlineData("""{"bindings":[],"labels":{"web":{"fallthrough":true}}}""", "labels[\"web\"]: unknown option \"fallthrough\"")]
    [InlineData("""{"bindings":[],"labels":{"web":{"fallThrough":"yes"}}}""", "labels[\"web\"]: \"fallThrough\" must be true or false")]
    public void ErrorsNameTheEntry(string text, string message)
    {
        var error = Assert.Throws<SteeringException>(() => BindingsFile.Parse(text));
        Assert.Equal(SteeringError.InvalidFile, error.Error);
        Assert.Contains(message, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
