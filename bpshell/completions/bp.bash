# bash completion for bp (bpshell). Install: see completions/README.md, or run
#   source <(bp completion bash)
# Everything offered comes from `bp __complete WORDS… CURRENT`, which reads the command table
# and the local config (never the network) and prints `value<TAB>description` lines, or a
# `:files`, `:dirs` or `:commands` line to let bash complete by itself.

_bp() {
    local -a words=()
    local line=${COMP_LINE:0:COMP_POINT} i word rest glued
    # Put back together the words bash split at COMP_WORDBREAKS (`--flag=value`, `https://…`):
    # a word with no blank before it belongs to the previous one.
    for ((i = 0; i <= COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        rest=${line#"${line%%[![:blank:]]*}"}
        glued=$(( i > 1 && ${#rest} == ${#line} ))
        line=${rest:${#word}}
        if ((i == 0)); then
            continue
        elif ((glued)); then
            words[${#words[@]} - 1]+=$word
        else
            words+=("$word")
        fi
    done
    ((${#words[@]})) || words=("")
    local current=${words[${#words[@]} - 1]} raw=${COMP_WORDS[COMP_CWORD]}
    local strip=$((${#current} - ${#raw}))
    local output
    output=$(command bp __complete "${words[@]}" 2>/dev/null) || return 0
    COMPREPLY=()
    local IFS=$'\n' value
    for value in $output; do
        case $value in
            :files)
                compopt -o default 2>/dev/null
                return 0
                ;;
            :dirs)
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -d -- "$raw"))
                return 0
                ;;
            :commands)
                COMPREPLY=($(compgen -c -- "$raw"))
                return 0
                ;;
        esac
        value=${value%%$'\t'*}
        COMPREPLY+=("${value:strip}")
    done
}

complete -F _bp bp
