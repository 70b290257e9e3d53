using System.Net;

namespace SkLookup.Bpf.Tests.Sockets;

/// <summary>sockaddr_in and sockaddr_in6 as the kernel lays them out become IPEndPoints.</summary>
// Pure logic, the same on every kernel: the kernel matrix (scripts/kernel-matrix.sh) leaves it to the native run.
[Trait("Kernel", "Independent")]
public sealed class SocketAddressParserTests
{
    [Fact]
    public void ParsesSockaddrIn()
    {
        // family AF_INET (2, host order), port 8080 (big-endian), 192.0.2.1, 8 bytes of padding.
        byte[] address = [2, 0, 0x1f, 0x90, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0];

        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 8080), SocketAddressParser.Parse(address));
    }

    [Fact]
    public void ParsesSockaddrIn6WithScope()
    {
        var address = new byte[28];
        address[0] = 10; // AF_INET6
        address[2] = 0x01;
        address[3] = 0xbb; // port 443
        IPAddress.Parse("fe80::1").GetAddressBytes().CopyTo(address, 8);
        BitConverter.GetBytes(7u).CopyTo(address, 24);

        var endPoint = SocketAddressParser.Parse(address);

        Assert.Equal(new IPEndPoint(IPAddress.Parse("fe80::1%7"), 443), endPoint);
        Assert.Equal(7, endPoint!.Address.ScopeId);
    }

    [Fact]
    public void OtherFamiliesAndShortAddressesGiveNull()
    {
        Assert.Null(SocketAddressParser.Parse([1, 0, (byte)'/', 0])); // AF_UNIX
        Assert.Null(SocketAddressParser.Parse([2, 0, 0x1f]));
        Assert.Null(SocketAddressParser.Parse([]));
    }
}
