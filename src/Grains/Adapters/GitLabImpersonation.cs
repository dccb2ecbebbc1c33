using System.Net.Http.Json;

namespace Orchestrator.Adapters;

/// <summary>
/// The one GitLab call the orchestrator makes in someone else's name: an approval as an approver, through an
/// administrator's token with the <c>sudo</c> scope (GitLab's <c>Sudo</c> header). Its own client and token, configured
/// apart from the bot's (<c>GitLab:AdminToken</c>), so none of the bot's calls ever carries sudo. I/O only: whom it may
/// approve for is the decider's (<see cref="Domain.Reapprovals"/>).
/// </summary>
public interface IGitLabImpersonation
{
    /// <summary>Whether an administrator's token is configured at all.</summary>
    bool Configured { get; }

    /// <summary>
    /// <c>POST /projects/:id/merge_requests/:iid/approve</c> with <c>sha</c> (GitLab answers 409 when the source head is
    /// another) as user <paramref name="userId"/>. Not idempotent: GitLab answers 401 to a second approval by the same user,
    /// so the caller looks the approvals up first.
    /// </summary>
    Task ApproveAsAsync(long project, long iid, string sha, long userId, CancellationToken ct = default);

    /// <summary>
    /// <c>GET /user</c> as user <paramref name="userId"/>: a read that takes the same way through GitLab's <c>sudo!</c> as
    /// the approval (an administrator, the <c>sudo</c> scope, a user who exists), so a token that cannot approve is found
    /// out before anything is pushed.
    /// </summary>
    Task<GitLabUser> UserAsAsync(long userId, CancellationToken ct = default);
}

/// <summary><see cref="IGitLabImpersonation"/> over its own HttpClient (base address <c>…/api/v4/</c>, the admin token as its header).</summary>
public sealed class GitLabImpersonation(HttpClient http, Microsoft.Extensions.Options.IOptions<Hosting.OrchestratorOptions> options) : IGitLabImpersonation
{
    public bool Configured => !string.IsNullOrEmpty(options.Value.GitLab.AdminToken);

    public async Task ApproveAsAsync(long project, long iid, string sha, long userId, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, $"projects/{project}/merge_requests/{iid}/approve")
        {
            Content = JsonContent.Create(new { sha }),
        }, userId, ct);
    }

    public async Task<GitLabUser> UserAsAsync(long userId, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "user"), userId, ct);
        return (await response.Content.ReadFromJsonAsync<GitLabUser>(GitLabClient.Json, ct))!;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, long userId, CancellationToken ct)
    {
        using var _ = request;
        if (!Configured) throw new InvalidOperationException("no GitLab administrator token is configured (Orchestrator:GitLab:AdminToken)");
        request.Headers.Add("Sudo", userId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var response = await http.SendAsync(request, ct);
        try
        {
            await GitLabClient.Ensure(response, ct);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
