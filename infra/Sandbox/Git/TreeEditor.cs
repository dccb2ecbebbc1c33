using System.Text;

namespace Sandbox.Git;

/// <summary>One action of <c>POST /projects/:id/repository/commits</c>.</summary>
public sealed record CommitAction(string Action, string FilePath, string? PreviousPath, string? Content, string Encoding, bool? ExecuteFilemode);

public sealed class CommitActionException(string message) : Exception(message);

/// <summary>
/// Builds a commit from GitLab's commit actions with git plumbing on a private index file, so a bare
/// repository needs no work tree and concurrent commits never share an index.
/// </summary>
public static class TreeEditor
{
    public static async Task<string> CommitAsync(Repository repo, string? parent, IReadOnlyList<CommitAction> actions,
        string message, GitCli.Identity author, DateTimeOffset at)
    {
        var index = Path.Combine(Path.GetTempPath(), $"sandbox-index-{Guid.NewGuid():N}");
        var env = new Dictionary<string, string> { ["GIT_INDEX_FILE"] = index };
        try
        {
            await Run(repo, env, parent is null ? ["read-tree", "--empty"] : ["read-tree", parent]);
            var files = parent is null ? new HashSet<string>() : await ListFiles(repo, env);
            foreach (var a in actions)
            {
                switch (a.Action)
                {
                    case "create":
                        if (files.Contains(a.FilePath)) throw new CommitActionException("A file with this name already exists");
                        await Add(repo, env, a, a.FilePath, files);
                        break;
                    case "update":
                        if (!files.Contains(a.FilePath)) throw new CommitActionException("A file with this name doesn't exist");
                        await Add(repo, env, a, a.FilePath, files);
                        break;
                    case "delete":
                        if (!files.Contains(a.FilePath)) throw new CommitActionException("A file with this name doesn't exist");
                        await Run(repo, env, ["update-index", "--force-remove", "--", a.FilePath]);
                        files.Remove(a.FilePath);
                        break;
                    case "move":
                        var from = a.PreviousPath ?? throw new CommitActionException("previous_path is missing");
                        if (!files.Contains(from)) throw new CommitActionException("A file with this name doesn't exist");
                        if (files.Contains(a.FilePath)) throw new CommitActionException("A file with this name already exists");
                        var moved = a.Content is null
                            ? a with { Content = Encoding.UTF8.GetString(await repo.ReadFileAsync(parent!, from) ?? []) }
                            : a;
                        await Run(repo, env, ["update-index", "--force-remove", "--", from]);
                        files.Remove(from);
                        await Add(repo, env, moved, a.FilePath, files);
                        break;
                    case "chmod":
                        if (!files.Contains(a.FilePath)) throw new CommitActionException("A file with this name doesn't exist");
                        await Run(repo, env, ["update-index", a.ExecuteFilemode == true ? "--chmod=+x" : "--chmod=-x", "--", a.FilePath]);
                        break;
                    default:
                        throw new CommitActionException($"action '{a.Action}' is not one of create, delete, move, update, chmod");
                }
            }
            var tree = (await Run(repo, env, ["write-tree"])).Trim();
            return await repo.CommitTreeAsync(tree, parent is null ? [] : [parent], message, author, at);
        }
        finally
        {
            File.Delete(index);
        }
    }

    private static async Task Add(Repository repo, Dictionary<string, string> env, CommitAction a, string path, HashSet<string> files)
    {
        var bytes = a.Encoding == "base64" ? Convert.FromBase64String(a.Content ?? "") : Encoding.UTF8.GetBytes(a.Content ?? "");
        var tmp = Path.Combine(Path.GetTempPath(), $"sandbox-blob-{Guid.NewGuid():N}");
        try
        {
            await File.WriteAllBytesAsync(tmp, bytes);
            var blob = (await Run(repo, env, ["hash-object", "-w", "--no-filters", tmp])).Trim();
            var mode = a.ExecuteFilemode == true ? "100755" : "100644";
            await Run(repo, env, ["update-index", "--add", "--cacheinfo", $"{mode},{blob},{path}"]);
            files.Add(path);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    private static async Task<HashSet<string>> ListFiles(Repository repo, Dictionary<string, string> env) =>
        [.. (await Run(repo, env, ["ls-files", "-z"])).Split('\0', StringSplitOptions.RemoveEmptyEntries)];

    private static async Task<string> Run(Repository repo, Dictionary<string, string> env, string[] args)
    {
        var r = await GitCli.TryRunAsync(repo.Path, args, env: env);
        if (r.ExitCode != 0) throw new GitException($"git {args[0]} failed: {r.Stderr.Trim()}", r.ExitCode, r.Stderr);
        return r.Stdout;
    }
}
