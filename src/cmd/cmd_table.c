/* cmd_table.c - every `bipeft` command, in the order --help lists them. Adding a command is
 * one line here and one cmd_<name>.c file. */
#include "cmd/cmd.h"

const struct command cmd_table[] = {
    {"info", "", "the build, BLAS, threads and devices", cmd_info},
    {"demo", "", "train a tiny encoder on a synthetic task (checks the core)", cmd_demo},
    {"inspect", "DIR", "family, sizes, parameters, dtype, head and tokenizer of a checkpoint",
     cmd_inspect},
    {"tokenize", "DIR --text T [--pair P]", "token ids of a text (one JSON object)",
     cmd_tokenize},
    {"tokenizer-train", "--vocab-size N --out DIR [--min-frequency K] [--no-lowercase] "
     "[--score likelihood|frequency] [--max-words M] FILE...",
     "train a WordPiece tokenizer on text files (tokenizer.json + vocab.txt)",
     cmd_tokenizer_train},
    {"forward", "DIR|RUN_DIR --text T [--pair P] ... --out F", "run a checkpoint (or a run) "
     "on texts; write hidden states (+ logits)", cmd_forward},
    {"search", "CONFIG.lua [--headless] [--session DIR] [--paused] [--quiet] [--verbose]",
     "search the best structure under the budget, retrain it, score it (a session folder)",
     cmd_search},
    {"resume", "DIR [--previous] [--restart] [--headless] [--paused] [--quiet] [--verbose]", "continue a "
     "search session from its last checkpoint", cmd_resume},
    {"train", "CONFIG.lua [--headless] [--quiet]", "fine-tune the structure a config names; "
     "write the run folder", cmd_train},
    {"pretrain", "CONFIG.lua [--quiet]", "pretrain a BERT encoder from scratch (masked LM); "
     "write an HF folder", cmd_pretrain},
    {"eval", "RUN_DIR CONFIG.lua [--split dev|test|test2|all] [--partial]",
     "score a run folder on a config's data (JSON)", cmd_eval},
    {"sessions", "[ROOT] [--json] | diff A B", "past runs under ROOT (default sessions/), "
     "or the structures of two runs side by side", cmd_sessions},
    {"replay", "[DIR] [--root ROOT] [--text]", "replay a session's events in the TUI; without "
     "DIR, pick one from the sessions screen (compare two)", cmd_replay},
    {"export", "RUN_DIR --format peft|merged|native --out DIR [--partial]",
     "write a training run as a PEFT adapter, a merged HF checkpoint or a copy of the run",
     cmd_export},
    {"check-config", "[--no-dry-run] FILE.lua...",
     "validate configs and dry-run their policies; print the resolved config as JSON",
     cmd_check_config},
    {"script-test", "FILE.lua [ARGS]", "run a Lua file in the config sandbox (tests)",
     cmd_script_test},
    {0, 0, 0, 0},
};
