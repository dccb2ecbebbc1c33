namespace Sandbox.Http;

/// <summary>GitLab's offset pagination: <c>page</c>/<c>per_page</c> in, <c>x-*</c> headers and <c>Link</c> out.</summary>
public static class Paging
{
    public static IReadOnlyList<T> Page<T>(HttpContext context, RequestParams p, IReadOnlyList<T> all)
    {
        var page = (int)Math.Max(1, p.Long("page") ?? 1);
        var perPage = (int)Math.Clamp(p.Long("per_page") ?? 20, 1, 100);
        var totalPages = Math.Max(1, (all.Count + perPage - 1) / perPage);
        var h = context.Response.Headers;
        h["x-page"] = page.ToString();
        h["x-per-page"] = perPage.ToString();
        h["x-total"] = all.Count.ToString();
        h["x-total-pages"] = totalPages.ToString();
        h["x-next-page"] = page < totalPages ? (page + 1).ToString() : "";
        h["x-prev-page"] = page > 1 ? (page - 1).ToString() : "";
        var links = new List<string>();
        string Link(int n, string rel)
        {
            var query = context.Request.Query.Where(q => q.Key is not ("page" or "per_page"))
                .Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}")
                .Append($"page={n}").Append($"per_page={perPage}");
            var r = context.Request;
            return $"<{r.Scheme}://{r.Host}{r.PathBase}{r.Path}?{string.Join('&', query)}>; rel=\"{rel}\"";
        }
        if (page > 1) links.Add(Link(page - 1, "prev"));
        if (page < totalPages) links.Add(Link(page + 1, "next"));
        links.Add(Link(1, "first"));
        links.Add(Link(totalPages, "last"));
        h["Link"] = string.Join(", ", links);
        return [.. all.Skip((page - 1) * perPage).Take(perPage)];
    }
}
