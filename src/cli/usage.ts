/** Usage text, kept apart from the commands so that printing it loads none of them. */
export const INIT_USAGE = `neurite init --data-dir DIR --server-name NAME
     [--bind ADDR] [--client-port N] [--federation-port N] [--setup-port N]
     [--registration open|token|closed] [--registration-shared-secret S]
     [--tls self-signed|off|files] [--tls-cert FILE --tls-key FILE]
     [--federation-verify-tls on|off] [--rate-limits on|off]
     [--guest-access on|off] [--appservice FILE ...] [--mode split|monolith]`;


export const USER_USAGE = `neurite user add NAME --password P [--admin] --data-dir DIR
     (works with the server running or stopped)`;

export const UPDATE_USAGE = `neurite update apply FILE|URL [--force] [--no-switch] [--data-dir DIR]
  neurite update status [--json] [--data-dir DIR]
  neurite update check | approve [--data-dir DIR]   (the scheduled check, and consent to what it found)`;
