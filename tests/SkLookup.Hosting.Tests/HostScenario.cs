using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SkLookup.Bpf;
using SkLookup.TestKit;

namespace SkLookup.Hosting.Tests;

/// <summary>
/// A private namespace with 192.0.2.0/24 and 2001:db8::/32 routed locally, a private bpffs, and (unless
/// told otherwise) a dispatcher loaded there, as 'sklookup load' would.
/// </summary>
internal sealed class HostScenario : IDisposable
{
    /// <summary>Sets the scenario up; <paramref name="group"/> is the state's group (<c>sklookup load --group</c>).</summary>
    public HostScenario(bool load = true, string? group = null)
    {
        NetNs = new TestNetNs();
        try
        {
            NetNs.AddLocalRoute("192.0.2.0/24");
            NetNs.AddLocalRoute("2001:db8::/32");
            BpfFs = new TestBpfFs();
            if (load)
                Dispatcher.Load(NetNs.Namespace, BpfFs.Path, lockTimeout: null, group).Dispose();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNetNs NetNs { get; }

    public TestBpfFs BpfFs { get; } = null!;

    /// <summary>Every log line of the hosts built here.</summary>
    public ListLoggerProvider Logs { get; } = new();

    /// <summary>Points the options at this scenario's namespace and bpffs.</summary>
    public void Target(SkLookupOptions options)
    {
        options.Namespace = NetNs.Namespace;
        options.BpfFsPath = BpfFs.Path;
    }

    /// <summary>Opens the dispatcher, as a 'sklookup' command would.</summary>
    public Dispatcher Open(bool write = false) => Dispatcher.Open(NetNs.Namespace, BpfFs.Path, write);

    /// <summary>Binds, as 'sklookup bind' would.</summary>
    public void Bind(string label, string protocol, string prefix, string port)
    {
        using var dispatcher = Open(write: true);
        dispatcher.AddBinding(Binding.Parse(label, protocol, prefix, port));
    }

    /// <summary>
    /// Rewrites the dispatcher's version record (the sk_meta map's one value) as another version of
    /// sklookup would have left it: the layout number at offset 0, the generator's name at offset 48.
    /// </summary>
    public void RewriteVersionRecord(Action<byte[]> change)
    {
        string statePath;
        using (var dispatcher = Open())
            statePath = dispatcher.StatePath;
        using var meta = BpfMap.OpenPinned(Path.Combine(statePath, "sk_meta"));
        var record = meta.Lookup(new byte[4])!;
        change(record);
        meta.Update(new byte[4], record);
    }

    /// <summary>A Generic Host with nothing but the sk_lookup service (and whatever <paramref name="configureServices"/> adds), logging here.</summary>
    public IHost BuildHost(Action<SkLookupOptions> configure, Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        UseLogs(builder.Logging);
        configureServices?.Invoke(builder.Services);
        builder.Services.AddSkLookup(options =>
        {
            Target(options);
            configure(options);
        });
        return builder.Build();
    }

    /// <summary>Sends the log to <see cref="Logs"/>, everything from Debug up.</summary>
    public void UseLogs(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Debug);
        logging.AddProvider(Logs);
    }

    public void Dispose()
    {
        BpfFs?.Dispose();
        NetNs.Dispose();
    }
}
