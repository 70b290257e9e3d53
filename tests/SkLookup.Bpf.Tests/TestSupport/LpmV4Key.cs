using System.Runtime.InteropServices;

namespace SkLookup.Bpf.Tests;

/// <summary>An LPM trie key for IPv4: a u32 prefix length in host order, then the address in network order.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct LpmV4Key
{
    public uint PrefixLength;
    public uint AddressNetworkOrder;

    public static LpmV4Key Of(string address, int prefixLength) => new()
    {
        PrefixLength = (uint)prefixLength,
        AddressNetworkOrder = MemoryMarshal.Read<uint>(System.Net.IPAddress.Parse(address).GetAddressBytes()),
    };
}
