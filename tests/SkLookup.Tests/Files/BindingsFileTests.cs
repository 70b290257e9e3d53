namespace SkLookup.Tests.Files;

/// <summary>Parsing of bindings files: tubular's format, ours, and the errors.</summary>
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
    [Fact]
    public void ReadsAStreamAcrossItsChunksAsItParsesText()
    {
        // Well over the reader's 1 MiB chunk, with entries of varying length so that chunk ends fall everywhere.
        var entries = Enumerable.Range(0, 40_000).Select(i =>
            $$"""{ "label": "label-{{i % 97}}", "protocol": "{{(i % 2 == 0 ? "tcp" : "udp")}}", "prefix": "10.{{i / 65536}}.{{i / 256 % 256}}.{{i % 256}}", "port": {{(i % 3 == 0 ? "\"any\"" : (1000 + i % 50000).ToString())}} }""");
        var text = "{\"labels\": {\"label-3\": {\"fallThrough\": true}},\n\"bindings\": [\n" + string.Join(",\n", entries) + "\n]}";
        Assert.True(text.Length > 3 << 20);

        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        var read = BindingsFile.Read(stream);
        var parsed = BindingsFile.ParseDocument(text);

        Assert.Equal(40_000, read.Bindings.Count);
        Assert.Equal(parsed.Bindings, read.Bindings);
        Assert.Equal(B("label-5", "udp", "10.0.0.5", "1005"), read.Bindings[5]);
        Assert.True(read.Labels["label-3"].FallThrough);
        // Each label is one string, shared by its bindings.
        Assert.Same(read.Bindings[0].Label, read.Bindings[97].Label);
    }

    [Fact]
    public void AStringLargerThanAChunkIsReadAndRefused()
    {
        var text = $$"""{"bindings": [{"label": "{{new string('x', 3 << 20)}}", "prefix": "192.0.2.0/24"}]}""";
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text));
        var error = Assert.Throws<SteeringException>(() => BindingsFile.Read(stream));
        Assert.Equal(SteeringError.InvalidFile, error.Error);
        Assert.Contains("bindings[0]: label", error.Message);
    }

    [Fact]
    public void ALabelThatIsNotUtf8IsRefused()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes("""{"bindings": [{"label": "we?b", "prefix": "192.0.2.0/24"}]}""");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xff;
        var error = Assert.Throws<SteeringException>(() => BindingsFile.ParseDocument(bytes));
        Assert.Equal(SteeringError.InvalidFile, error.Error);
        Assert.Contains("bindings[0]", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("""{"bindings": [], "bindings": []}""")]
    [InlineData("""{"bindings": []} {}""")]
    public void EmptyDuplicatedOrTrailingDocumentsAreRefused(string text) =>
        Assert.Equal(SteeringError.InvalidFile, Assert.Throws<SteeringException>(() => BindingsFile.Parse(text)).Error);
}
