namespace Sandbox.GitHttp;

/// <summary>
/// The sandbox's pre-receive hook, in the place of Gitaly's: git runs it once the pushed objects are received (still
/// in quarantine) and before any ref moves; it asks the sandbox, as Gitaly asks GitLab's /api/v4/internal/allowed,
/// and a refusal reaches the client as GitLab's does: "remote: GitLab: …" and "(pre-receive hook declined)".
/// </summary>
public static class PreReceiveHook
{
    public const string KeyVariable = "SANDBOX_PUSH_KEY";
    public const string UrlVariable = "SANDBOX_HOOK_URL";
    public const string KeyHeader = "X-Sandbox-Push-Key";

    // The key goes to curl on its standard input, never in its arguments, where any local process could read it.
    private const string Script = $$"""
        #!/bin/sh
        set -eu
        [ -n "${{{KeyVariable}}:-}" ] || { echo "GitLab: pushes go through the sandbox's HTTP endpoint" >&2; exit 1; }
        changes=$(cat)
        answer=$(mktemp)
        trap 'rm -f "$answer"' EXIT
        set --
        i=0
        while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do
          eval "option=\${GIT_PUSH_OPTION_$i}"
          set -- "$@" --data-urlencode "push_options[]=$option"
          i=$((i + 1))
        done
        status=$(printf '{{KeyHeader}}: %s\n' "${{KeyVariable}}" | curl -sS -o "$answer" -w '%{http_code}' -H @- \
          --data-urlencode "changes=$changes" \
          --data-urlencode "object_directory=${GIT_OBJECT_DIRECTORY:-}" \
          --data-urlencode "alternate_object_directories=${GIT_ALTERNATE_OBJECT_DIRECTORIES:-}" \
          "$@" "${{UrlVariable}}/api/v4/internal/allowed") || status=000
        [ "$status" = 200 ] && exit 0
        [ "$status" = 000 ] && echo "Internal API unreachable" >"$answer"
        printf 'GitLab: %s\n' "$(cat "$answer")" >&2
        exit 1

        """;

    /// <summary>Writes the hook into its own folder (used as <c>core.hooksPath</c>) and returns that folder.</summary>
    public static string Install(string dataDir)
    {
        var dir = Directory.CreateDirectory(Path.Combine(dataDir, "git-hooks")).FullName;
        var path = Path.Combine(dir, "pre-receive");
        File.WriteAllText(path, Script.Replace("\r\n", "\n"));
        // A shell script run by git: the sandbox needs a Unix machine anyway.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        return dir;
    }
}
