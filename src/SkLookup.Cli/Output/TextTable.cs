using System.Text;

namespace SkLookup.Cli;

/// <summary>A plain text table with columns padded to their widest cell, as <c>ip</c> or <c>ss</c> print them.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    /// <summary>How many rows were added.</summary>
    public int Count => _rows.Count;

    /// <summary>Adds a row; missing cells are empty. Cells are escaped: a label or process name read from the kernel never drives the terminal.</summary>
    public TextTable Add(params string?[] cells)
    {
        var row = new string[headers.Length];
        for (var i = 0; i < row.Length; i++)
            row[i] = i < cells.Length ? TextEscape.Escape(cells[i] ?? "") : "";
        _rows.Add(row);
        return this;
    }

    /// <summary>Writes the header and the rows, each line indented by <paramref name="indent"/>.</summary>
    public void Write(TextWriter writer, string indent = "")
    {
        var widths = new int[headers.Length];
        for (var i = 0; i < headers.Length; i++)
            widths[i] = headers[i].Length;
        foreach (var row in _rows)
            for (var i = 0; i < row.Length; i++)
                widths[i] = Math.Max(widths[i], row[i].Length);
        WriteLine(writer, indent, headers, widths);
        foreach (var row in _rows)
            WriteLine(writer, indent, row, widths);
    }

    private static void WriteLine(TextWriter writer, string indent, string[] cells, int[] widths)
    {
        var line = new StringBuilder(indent);
        for (var i = 0; i < cells.Length; i++)
        {
            line.Append(cells[i]);
            if (i < cells.Length - 1)
                line.Append(' ', widths[i] - cells[i].Length + 2);
        }
        writer.WriteLine(line.ToString().TrimEnd());
    }
}
