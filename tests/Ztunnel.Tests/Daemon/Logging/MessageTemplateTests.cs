using Ztunnel.Daemon.Logging;

namespace Ztunnel.Tests.Daemon.Logging;

public sealed class MessageTemplateTests
{
    [Fact]
    public void Parse_HolesWithFormatAlignmentAndOperators_KeepTheirNameAndFormat()
    {
        MessageTemplate template = MessageTemplate.Get("a {Ms,6:F1} b {@Pod} {$Id}");

        template.Tokens.Where(t => t.IsHole).Select(t => (t.Name, t.Format)).ShouldBe([("Ms", "F1"), ("Pod", null), ("Id", null)]);
        template.HasFormats.ShouldBeTrue();
    }

    [Theory]
    [InlineData("{ not a hole }")]
    [InlineData("{a-b}")]
    [InlineData("unclosed {Name")]
    [InlineData("{}")]
    public void Parse_BracesThatAreNotHoles_StayText(string text)
    {
        MessageTemplate template = MessageTemplate.Get(text);

        template.Tokens.ShouldAllBe(t => !t.IsHole);
        string.Concat(template.Tokens.Select(t => t.Raw)).ShouldBe(text);
    }

    [Fact]
    public void Get_SameTemplate_IsParsedOnce()
    {
        MessageTemplate.Get("cached {X}").ShouldBeSameAs(MessageTemplate.Get("cached {X}"));
    }
}
