namespace Ztunnel.Authorization;

internal enum StringMatchKind
{
    Exact,
    Prefix,
    Suffix,
    Presence,
}
