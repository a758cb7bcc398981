using System.Formats.Asn1;

namespace Ztunnel.Tls;

/// <summary>
/// Reads the URIs of a subjectAltName extension value (RFC 5280 §4.2.1.6), which .NET's
/// X509SubjectAlternativeNameExtension does not expose: GeneralNames ::= SEQUENCE OF GeneralName, and a
/// URI is <c>uniformResourceIdentifier [6] IMPLICIT IA5String</c>.
/// </summary>
internal static class SubjectAltNames
{
    private static readonly Asn1Tag _uriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>The URIs in order; <paramref name="otherNames"/> counts every non-URI entry (DNS, IP, email, ...).</summary>
    /// <exception cref="AsnContentException">The extension value is not valid DER.</exception>
    public static List<string> ReadUris(ReadOnlyMemory<byte> extensionValue, out int otherNames)
    {
        var uris = new List<string>();
        otherNames = 0;
        var reader = new AsnReader(extensionValue, AsnEncodingRules.DER);
        AsnReader names = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        while (names.HasData)
        {
            Asn1Tag tag = names.PeekTag();
            if (tag.HasSameClassAndValue(_uriTag))
            {
                uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, _uriTag));
            }
            else
            {
                names.ReadEncodedValue();
                otherNames++;
            }
        }
        return uris;
    }
}
