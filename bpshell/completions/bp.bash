# bash completion for bp (bpshell). Install: see completions/README.md, or run
#   source <(bp completion bash)
# Everything offered comes from `bp __complete WORDS… CURRENT`, which reads the command table
# and the local config (never the network) and prints `value<TAB>description` lines, or a
# `:files`, `:dirs` or `:commands` line to let bash complete by itself.
#
# Values come from files a server or a hand edit wrote, so nothing here ever runs or expands
# one: the words typed are unquoted by hand (never eval), the answer is read with mapfile (no
# word splitting, no globbing), and every word put on the line is quoted for the place it
# lands, with printf %q or for the quote the word was opened with.

_bp() {
    local -a words=() args=() lines=()
    local line=${COMP_LINE:0:COMP_POINT} i word rest glued REPLY open
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
    for word in "${words[@]}"; do
        _bp_dequote "$word"
        args+=("$REPLY")
    done
    # Readline replaces only the end of the typed word: what follows a quote left open, or
    # what follows the last COMP_WORDBREAKS character (`--flag=`). The rest stays as typed.
    local typed=${words[${#words[@]} - 1]} raw=${COMP_WORDS[COMP_CWORD]} kept quote=
    _bp_dequote "$raw"
    if ((open >= 0)); then
        quote=${raw:open - 1:1}
        kept=${typed:0:${#typed} - ${#raw} + open}
    elif [[ $raw && -z ${raw//[$COMP_WORDBREAKS]/} ]]; then
        kept=$typed
    else
        kept=${typed:0:${#typed} - ${#raw}}
    fi
    _bp_dequote "$kept"
    local prefix=$REPLY current=${args[${#args[@]} - 1]}
    local output value
    output=$(command bp __complete "${args[@]}" 2>/dev/null) || return 0
    mapfile -t lines <<<"$output"
    COMPREPLY=()
    case ${lines[0]} in
        :files)
            compopt -o default 2>/dev/null
            return 0
            ;;
        :dirs)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "${current:${#prefix}}")
            return 0
            ;;
        :commands)
            mapfile -t lines < <(compgen -c -- "${current:${#prefix}}")
            prefix=
            ;;
    esac
    for value in "${lines[@]}"; do
        value=${value%%$'\t'*}
        [[ $value ]] || continue
        _bp_quote "${value:${#prefix}}" "$quote"
        COMPREPLY+=("$REPLY")
    done
}

# REPLY = the text the typed word $1 stands for, quotes and backslashes removed (nothing is
# expanded or run: `$x` stays `$x`); open = the offset just past a quote left open, or -1.
_bp_dequote() {
    local word=$1 char quote= i
    REPLY= open=-1
    for ((i = 0; i < ${#word}; i++)); do
        char=${word:i:1}
        if [[ $quote == "'" ]]; then
            [[ $char == "'" ]] && quote= || REPLY+=$char
        elif [[ $char == '\' ]]; then
            char=${word:i + 1:1}
            ((i++))
            [[ $quote == '"' && $char != [\$\`\"\\] ]] && REPLY+='\'
            REPLY+=$char
        elif [[ $quote && $char == "$quote" ]]; then
            quote=
        elif [[ -z $quote && ($char == "'" || $char == '"') ]]; then
            quote=$char open=$((i + 1))
        else
            REPLY+=$char
        fi
    done
    [[ $quote ]] || open=-1
}

# REPLY = $1 written to read back as exactly $1 when put after the open quote $2 (none, '
# or "): escaped with printf %q outside quotes; inside quotes, only what would end them.
_bp_quote() {
    case $2 in
        "'")
            REPLY=${1//"'"/"'\''"}
            ;;
        '"')
            REPLY=${1//'\'/'\\'}
            REPLY=${REPLY//'"'/'\"'}
            REPLY=${REPLY//'$'/'\$'}
            REPLY=${REPLY//'`'/'\`'}
            REPLY=${REPLY//'!'/"\"'!'\""}
            ;;
        *)
            REPLY=
            [[ $1 ]] && printf -v REPLY %q "$1"
            ;;
    esac
}

complete -F _bp bp
