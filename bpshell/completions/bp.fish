# fish completion for bp (bpshell). Install: see completions/README.md, or run
#   bp completion fish > ~/.config/fish/completions/bp.fish
# Everything offered comes from `bp __complete WORDS… CURRENT`, which reads the command table
# and the local config (never the network) and prints `value<TAB>description` lines, or a
# `:files`, `:dirs` or `:commands` line to let fish complete by itself.
#
# Values come from files a server or a hand edit wrote, so nothing here ever runs or expands
# one: the words typed are unquoted by commandline -o and string unescape (which run nothing),
# the answer is one value a line, and fish escapes what it inserts, except a leading `~`
# (left as is so `~/` works, and then expanded): such values are never offered.

function __bp_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l token (commandline -ct)
    set -l current (string unescape -- "$token")
    or set current $token
    set -l output (command bp __complete $words "$current" 2>/dev/null)
    or return
    for line in $output
        switch $line
            case :files
                __fish_complete_path "$token"
                return
            case :dirs
                __fish_complete_directories "$token"
                return
            case :commands
                complete -C "$token"
                return
            case '~*'
                continue
            case '*'
                printf '%s\n' $line
        end
    end
end

complete -c bp -f -a '(__bp_complete)'
