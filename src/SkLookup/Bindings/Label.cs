using System.Text;

namespace SkLookup;

/// <summary>Labels name destinations. They travel in map keys, so their length is bounded.</summary>
public static class Label
{
    /// <summary>The longest label, in UTF-8 bytes.</summary>
    public const int MaxBytes = 63;

    /// <summary>Throws <see cref="SteeringError.InvalidLabel"/> unless <paramref name="label"/> is 1 to 63 UTF-8 bytes of printable, non-space characters.</summary>
    public static string Validate(string label)
    {
        if (string.IsNullOrEmpty(label))
            throw new SteeringException(SteeringError.InvalidLabel, "a label must not be empty");
        var bytes = Encoding.UTF8.GetByteCount(label);
        if (bytes > MaxBytes)
            throw new SteeringException(SteeringError.InvalidLabel, $"label '{Shorten(label)}' is {bytes} bytes long: the limit is {MaxBytes} bytes");
        foreach (var c in label)
            if (char.IsControl(c) || char.IsWhiteSpace(c))
                throw new SteeringException(SteeringError.InvalidLabel, $"label '{Shorten(label)}' contains whitespace or a control character");
        return label;
    }

    private static string Shorten(string label) => label.Length > 40 ? label[..37] + "..." : label;
}
