using System.Buffers.Binary;
using System.Numerics;

namespace SkLookup.Bpf;

/// <summary>
/// SHA-1 and SHA-256 (FIPS 180-4), for program tags only. Written here rather than taken from
/// System.Security.Cryptography because on Linux that loads OpenSSL (libssl, libcrypto and openssl.cnf), which
/// costs a short-lived command 20 ms or more, twice the whole budget of a single <c>sklookup bind</c>; a tag is
/// computed on every write. Programs are a few hundred KiB at most, so speed beyond this is not needed.
/// </summary>
internal static class ShaDigest
{
    /// <summary>The SHA-1 digest (20 bytes) of <paramref name="data"/>.</summary>
    public static byte[] Sha1(ReadOnlySpan<byte> data)
    {
        uint h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476, h4 = 0xC3D2E1F0;
        Span<uint> w = stackalloc uint[80];
        foreach (var block in Blocks(data))
        {
            for (var i = 0; i < 16; i++)
                w[i] = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(i * 4));
            for (var i = 16; i < 80; i++)
                w[i] = BitOperations.RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
            uint a = h0, b = h1, c = h2, d = h3, e = h4;
            for (var i = 0; i < 80; i++)
            {
                var (f, k) = i switch
                {
                    < 20 => ((b & c) | (~b & d), 0x5A827999u),
                    < 40 => (b ^ c ^ d, 0x6ED9EBA1u),
                    < 60 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDCu),
                    _ => (b ^ c ^ d, 0xCA62C1D6u),
                };
                var t = BitOperations.RotateLeft(a, 5) + f + e + k + w[i];
                e = d;
                d = c;
                c = BitOperations.RotateLeft(b, 30);
                b = a;
                a = t;
            }
            h0 += a; h1 += b; h2 += c; h3 += d; h4 += e;
        }
        return BigEndian([h0, h1, h2, h3, h4]);
    }

    private static readonly uint[] K256 =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    /// <summary>The SHA-256 digest (32 bytes) of <paramref name="data"/>.</summary>
    public static byte[] Sha256(ReadOnlySpan<byte> data)
    {
        Span<uint> h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
        Span<uint> w = stackalloc uint[64];
        foreach (var block in Blocks(data))
        {
            for (var i = 0; i < 16; i++)
                w[i] = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(i * 4));
            for (var i = 16; i < 64; i++)
            {
                var s0 = BitOperations.RotateRight(w[i - 15], 7) ^ BitOperations.RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
                var s1 = BitOperations.RotateRight(w[i - 2], 17) ^ BitOperations.RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
            }
            uint a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
            for (var i = 0; i < 64; i++)
            {
                var t1 = hh + (BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
                var t2 = (BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                hh = g;
                g = f;
                f = e;
                e = d + t1;
                d = c;
                c = b;
                b = a;
                a = t1 + t2;
            }
            h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
        }
        return BigEndian(h);
    }

    /// <summary>The 64-byte blocks of <paramref name="data"/> with the padding both algorithms share: 0x80, zeros, the bit length.</summary>
    private static IEnumerable<byte[]> Blocks(ReadOnlySpan<byte> data)
    {
        var padded = new byte[(data.Length + 8) / 64 * 64 + 64];
        data.CopyTo(padded);
        padded[data.Length] = 0x80;
        BinaryPrimitives.WriteUInt64BigEndian(padded.AsSpan(padded.Length - 8), (ulong)data.Length * 8);
        return Split(padded);

        static IEnumerable<byte[]> Split(byte[] padded)
        {
            var block = new byte[64];
            for (var at = 0; at < padded.Length; at += 64)
            {
                padded.AsSpan(at, 64).CopyTo(block);
                yield return block;
            }
        }
    }

    private static byte[] BigEndian(ReadOnlySpan<uint> words)
    {
        var bytes = new byte[words.Length * 4];
        for (var i = 0; i < words.Length; i++)
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), words[i]);
        return bytes;
    }
}
