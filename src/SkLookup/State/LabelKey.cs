using System.Text;

namespace SkLookup.State;

/// <summary>
/// The key of <see cref="ControlLayout.Labels"/> and <see cref="ControlLayout.LabelOptions"/>: family (u8),
/// protocol (u8), label length (u8), a zero pad byte, then the label's UTF-8 bytes, zero-filled to 64.
/// </summary>
internal static class LabelKey
{
    /// <summary>The key size in bytes.</summary>
    public const int Size = 4 + 64;

    /// <summary>Encodes the key of a destination, or with family and protocol 0, of a label's options.</summary>
    public static byte[] Encode(string label, byte family, byte protocol)
    {
        var key = new byte[Size];
        var length = Encoding.UTF8.GetBytes(label, key.AsSpan(4));
        if (length > SkLookup.Label.MaxBytes)
            throw new ArgumentException($"label '{label}' is longer than {SkLookup.Label.MaxBytes} bytes", nameof(label));
        key[0] = family;
        key[1] = protocol;
        key[2] = (byte)length;
        return key;
    }

    /// <summary>Decodes a key: the label, family and protocol (0 and 0 for a label's options).</summary>
    public static (string Label, byte Family, byte Protocol) Decode(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size || key[2] > SkLookup.Label.MaxBytes)
            throw new ArgumentException("not a label key", nameof(key));
        return (Encoding.UTF8.GetString(key.Slice(4, key[2])), key[0], key[1]);
    }
}
