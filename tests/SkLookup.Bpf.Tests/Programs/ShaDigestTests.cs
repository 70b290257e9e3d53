using System.Security.Cryptography;

namespace SkLookup.Bpf.Tests.Programs;

/// <summary>The hand-written SHA-1 and SHA-256 of program tags give the digests .NET's (OpenSSL's) give, at every padding boundary.</summary>
[Trait("Kernel", "Independent")]
public sealed class ShaDigestTests
{
    public static TheoryData<int> Lengths()
    {
        var lengths = new TheoryData<int>();
        foreach (var length in new[] { 0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 8 * 100_000 + 5 })
            lengths.Add(length);
        return lengths;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MatchesTheLibraryDigests(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);

        Assert.Equal(SHA1.HashData(data), ShaDigest.Sha1(data));
        Assert.Equal(SHA256.HashData(data), ShaDigest.Sha256(data));
    }

    [Fact]
    public void MatchesTheStandardsTestVectors()
    {
        Assert.Equal("a9993e364706816aba3e25717850c26c9cd0d89d", Convert.ToHexStringLower(ShaDigest.Sha1("abc"u8)));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Convert.ToHexStringLower(ShaDigest.Sha256("abc"u8)));
    }
}
