using System.Net;
using Orchestrator.Adapters;
using Xunit;

namespace Orchestrator.Tests.Adapters;

/// <summary>A registry's tag list is read whole or not at all: a snapshot missing some tags could not see them change.</summary>
public sealed class RegistryTagListTests
{
    /// <summary>A registry whose tag list always has a next page (until <paramref name="goneAfter"/> pages: then 404).</summary>
    private sealed class EndlessPages(int goneAfter = int.MaxValue) : HttpMessageHandler
    {
        public int Requests { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Requests++;
            if (Requests > goneAfter) return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($"{{\"tags\":[\"t{Requests}\"]}}") };
            response.Headers.TryAddWithoutValidation("Link", $"</v2/mesa/mesa/img/tags/list?n=1000&last=t{Requests}>; rel=\"next\"");
            return Task.FromResult(response);
        }
    }

    private static RegistryClient Client(HttpMessageHandler registry) => new(new HttpClient(registry) { BaseAddress = new Uri("http://registry.test") },
        new RegistryCredentials(new Uri("http://registry.test"), "bot", "token"));

    [Fact]
    public async Task Given_a_repository_that_goes_away_after_its_first_page_When_listed_Then_it_fails_rather_than_answer_part_of_it()
    {
        var refused = await Assert.ThrowsAsync<RegistryException>(() => Client(new EndlessPages(goneAfter: 2)).ListTagsAsync("mesa/mesa/img", CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, refused.Status);
        // No such repository at all is no tags, as before.
        Assert.Empty(await Client(new EndlessPages(goneAfter: 0)).ListTagsAsync("mesa/mesa/img", CancellationToken.None));
    }

    [Fact]
    public async Task Given_a_tag_list_longer_than_the_client_reads_When_listed_Then_it_fails_rather_than_answer_part_of_it()
    {
        var pages = new EndlessPages();
        var client = Client(pages);

        var refused = await Assert.ThrowsAsync<RegistryException>(() => client.ListTagsAsync("mesa/mesa/img", CancellationToken.None));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.Status);
        Assert.Equal(100, pages.Requests);
    }
}
