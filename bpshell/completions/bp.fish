# fish completion for bp (bpshell). Install: see completions/README.md, or run
#   bp completion fish > ~/.config/fish/completions/bp.fish
# Everything offered comes from `bp __complete WORDS… CURRENT`, which reads the command table
# and the local config (never the network) and prints `value<TAB>description` lines, or a
# `:files`, `:dirs` or `:commands` line to let fish complete by itself.

function __bp_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l current (commandline -ct)
    set -l output (command bp __complete $words $current 2>/dev/null)
    or return
    for line in $output
        switch $line
            case :files
                __fish_complete_path $current
                return
            case :dirs
                __fish_complete_directories $current
                return
            case :commands
                complete -C "$current"
                return
            case '*'
                printf '%s\n' $line
        end
    end
end

complete -c bp -f -a '(__bp_complete)'
