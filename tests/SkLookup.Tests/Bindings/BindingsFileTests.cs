namespace SkLookup.Tests.Bindings;

/// <summary>Parsing of bindings files: tubular's format, ours, and the errors.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class BindingsFileTests
{
    private static Binding B(string label, string protocol, string prefix, string port) => Binding.Parse(label, protocol, prefix, port);

    [Fact]
    public void ReadsTubularFiles()
    {
        // tubular's own test file, with no protocol (both) and no port (any).
        const string text = """
            {
                "bindings": [
                    { "label": "foo", "prefix": "127.0.0.1/32" },
                    { "label": "bar", "prefix": "::/64" }
                ]
            }
            """;
        Assert.Equal(
            [B("foo", "tcp", "127.0.0.1/32", "0"), B("foo", "udp", "127.0.0.1/32", "0"), B("bar", "tcp", "::/64", "0"), B("bar", "udp", "::/64", "0")],
            BindingsFile.Parse(text));
    }

    [Fact]
    public void TubularEntriesWithHostBitsAreRefusedAsBindRefusesThem()
    {
        // tubular clears them silently ("::1/64" becomes "::/64"), which widens a typo; bind refuses, and so does apply.
        var error = Assert.Throws<SteeringException>(() => BindingsFile.Parse("""{"bindings":[{"label":"ok","prefix":"::/64"},{"label":"bar","prefix":"::1/64"}]}"""));
        Assert.Equal(SteeringError.InvalidFile, error.Error);
        Assert.Equal("bindings[1]: prefix '::1/64' has host bits set: did you mean ::/64?", error.Message);
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
              "bindings": [
                { "label": "web", "protocol": "tcp", "prefix": "192.0.2.0/24", "port": 80 },
                { "label": "dns", "protocol": "udp", "prefix": "2001:db8::53", "port": "53" },
                { "label": "any", "protocol": "TCP", "prefix": "198.51.100.0/24", "port": "any" }
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
    // Strict JSON (RFC 8259): what lenient readers accept is refused.
    [InlineData("""{"bindings":[{"label":"a","prefix":"192.0.2.0/24"},]}""", "not valid JSON (line 1, byte")]
    [InlineData("""{"bindings":[],}""", "not valid JSON")]
    [InlineData("{\"bindings\":[] // a comment\n}", "not valid JSON")]
    [InlineData("""{"bindings":[] /* a comment */ }""", "not valid JSON")]
    [InlineData("""{'bindings':[]}""", "not valid JSON")]
    [InlineData("""{"bindings":[]} {"bindings":[]}""", "not valid JSON")]
    [InlineData("""{"bindings":[],"bindings":[{"label":"a","prefix":"192.0.2.0/24"}]}""", "field \"bindings\" appears twice")]
    [InlineData("""{"bindings":[{"label":"a","label":"b","prefix":"192.0.2.0/24"}]}""", "bindings[0]: \"label\" is given twice")]
    [InlineData("""{"bindings":[],"labels":{"web":{},"web":{}}}""", "labels[\"web\"]: the label is given twice")]
    // Canonical addresses and numbers only.
    [InlineData("""{"bindings":[{"label":"a","prefix":"012.1/16"}]}""", "bindings[0]: prefix '012.1/16' is not valid")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"010.0.0.1"}]}""", "bindings[0]: prefix '010.0.0.1' is not valid: octet '010' has a leading zero")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"0x0a000001"}]}""", "bindings[0]: prefix '0x0a000001' is not valid")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"4294967295"}]}""", "bindings[0]: prefix '4294967295' is not valid")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"2001:db8::1/64"}]}""", "bindings[0]: prefix '2001:db8::1/64' has host bits set: did you mean 2001:db8::/64?")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"192.0.2.0/24","port":-0}]}""", "bindings[0]: port '-0' is not valid")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"192.0.2.0/24","port":80.0}]}""", "bindings[0]: port '80.0' is not valid")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"192.0.2.0/24","port":8e1}]}""", "bindings[0]: port '8e1' is not valid")]
    [InlineData("""{"bindings":[{"label":"a","prefix":"192.0.2.0/24","port":"080"}]}""", "bindings[0]: port '080' is not valid")]
    [InlineData("""{"bindings":[{"label":"a\u001b[31m","prefix":"192.0.2.0/24"}]}""", "bindings[0]: label 'a\\x1b[31m' contains U+001B")]
    [InlineData("""{"bindings":[{"label":"a\u0000","prefix":"192.0.2.0/24"}]}""", "bindings[0]: label 'a\\x00' contains U+0000")]
    [InlineData("""{"bindings":[{"label":"a\ufffd","prefix":"192.0.2.0/24"}]}""", "contains U+FFFD")]
    [InlineData("""{"bindings":[],"x\u001b":1}""", "unknown field \"x\\x1b\"")]
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

    [Theory]
    [InlineData("")]
    [InlineData("""{"bindings": [], "bindings": []}""")]
    [InlineData("""{"bindings": []} {}""")]
    public void EmptyDuplicatedOrTrailingDocumentsAreRefused(string text) =>
        Assert.Equal(SteeringError.InvalidFile, Assert.Throws<SteeringException>(() => BindingsFile.Parse(text)).Error);

    [Fact]
    public void InvalidUtf8IsRefusedWithItsOffset()
    {
        var bytes = "{\"bindings\":[{\"label\":\"a"u8.ToArray().Concat(new byte[] { 0xff }).Concat("\",\"prefix\":\"192.0.2.0/24\"}]}"u8.ToArray()).ToArray();

        var error = Assert.Throws<SteeringException>(() => BindingsFile.ParseDocument(bytes));

        Assert.Equal("the bindings file is not valid UTF-8 (at byte 25): save it as UTF-8", error.Message);
    }

    [Fact]
    public void AByteOrderMarkIsSkipped()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat("""{"bindings":[{"label":"a","protocol":"tcp","prefix":"192.0.2.0/24"}]}"""u8.ToArray()).ToArray();

        Assert.Equal([B("a", "tcp", "192.0.2.0/24", "0")], BindingsFile.ParseDocument(bytes).Bindings);
    }
}
