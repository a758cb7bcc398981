using System.Security.Cryptography;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>
/// The short-record AES-GCM against the published test vectors and against .NET's AesGcm (OpenSSL underneath), for
/// every length around the block and four-block boundaries, with both key sizes. (They need a CPU with AES-NI and
/// PCLMULQDQ, as every x86-64 server of the last fifteen years has; elsewhere the constructor says so.)
/// </summary>
public sealed class ShortRecordAesGcmTests
{
    // McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 2, 3, 4 (AES-128) and 16 (AES-256).
    [Theory]
    [InlineData("00000000000000000000000000000000", "000000000000000000000000", "", "00000000000000000000000000000000",
        "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf")]
    [InlineData("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        "4d5c2af327cd64a62cf35abd2ba6fab4")]
    [InlineData("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        "5bc94fbc3221a5db94fae95ae7121a47")]
    [InlineData("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        "76fc6ece0f4e1768cddf8853bb2d551b")]
    public void Seal_PublishedVectors_CiphertextAndTagMatch(string key, string nonce, string aad, string plaintext, string ciphertext, string tag)
    {
        using var gcm = new ShortRecordAesGcm(Convert.FromHexString(key));
        byte[] data = Convert.FromHexString(plaintext);
        byte[] sealedTag = new byte[ShortRecordAesGcm.TagSize];

        gcm.Seal(Convert.FromHexString(nonce), Convert.FromHexString(aad), data, sealedTag);

        Convert.ToHexStringLower(data).ShouldBe(ciphertext);
        Convert.ToHexStringLower(sealedTag).ShouldBe(tag);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    public void SealAndOpen_EveryLengthUpToFourHundred_AgreeWithDotNetAesGcm(int keySize)
    {
        var random = new Random(keySize);
        for (int length = 0; length <= 400; length++)
        {
            byte[] key = Bytes(random, keySize);
            byte[] nonce = Bytes(random, 12);
            byte[] aad = Bytes(random, length % 17); // a TLS header is 5; GHASH pads any length up to a block
            byte[] plaintext = Bytes(random, length);
            byte[] expected = new byte[length];
            byte[] expectedTag = new byte[16];
            using (var reference = new AesGcm(key, 16))
            {
                reference.Encrypt(nonce, plaintext, expected, expectedTag, aad);
            }
            using var gcm = new ShortRecordAesGcm(key);

            byte[] data = plaintext.ToArray();
            byte[] tag = new byte[16];
            gcm.Seal(nonce, aad, data, tag);
            data.ShouldBe(expected, $"ciphertext of {length} bytes");
            tag.ShouldBe(expectedTag, $"tag over {length} bytes");

            byte[] opened = new byte[length];
            gcm.Open(nonce, aad, expected, expectedTag, opened).ShouldBeTrue($"open {length} bytes");
            opened.ShouldBe(plaintext);
        }
    }

    [Theory]
    [InlineData("ciphertext")]
    [InlineData("tag")]
    [InlineData("aad")]
    [InlineData("nonce")]
    public void Open_OneBitChanged_RefusedAndWritesNothing(string where)
    {
        var random = new Random(7);
        byte[] key = Bytes(random, 16);
        byte[] nonce = Bytes(random, 12);
        byte[] aad = Bytes(random, 5);
        byte[] data = Bytes(random, 95);
        byte[] tag = new byte[16];
        using var gcm = new ShortRecordAesGcm(key);
        gcm.Seal(nonce, aad, data, tag);
        byte[] target = where switch
        {
            "ciphertext" => data,
            "tag" => tag,
            "aad" => aad,
            _ => nonce,
        };
        target[target.Length / 2] ^= 0x10;

        byte[] output = new byte[data.Length];
        gcm.Open(nonce, aad, data, tag, output).ShouldBeFalse();
        output.ShouldAllBe(b => b == 0, "no unauthenticated plaintext is released");
    }

    [Fact]
    public void New_KeyOfAnotherLength_Refused()
    {
        Should.Throw<ArgumentException>(() => new ShortRecordAesGcm(new byte[24])).Message.ShouldContain("16 or 32 bytes");
    }

    private static byte[] Bytes(Random random, int length)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
