/*
 * rekey.h - "herald rekey": moves a store to a new encryption key.
 *
 * With the daemon stopped, herald rekey opens the store of a
 * configuration with its key_file, re-seals every sealed value under a
 * new key in one transaction (herald_store_rekey()), proves that the
 * store now opens with the new key, and tells the operator to point
 * key_file at it. It never edits, moves or deletes a key file: which key
 * the configuration names, and when the old one is destroyed, stay the
 * operator's decisions. Called from main() only.
 */
#ifndef HERALD_REKEY_H
#define HERALD_REKEY_H

/*
 * The "herald rekey --config FILE --new-key FILE" subcommand; argv holds
 * the arguments after "rekey". Refuses, with nothing changed and one
 * line on stderr: a store that does not exist, is held by a running
 * daemon, has another schema version than this herald's, or does not
 * match key_file; a missing or invalid new key; the same key twice.
 * Prints what it re-sealed and the next step on stdout. Returns the exit
 * status: 0 done, 1 refused or failed, 2 bad usage.
 */
int herald_rekey_command(int argc, char **argv);

#endif
