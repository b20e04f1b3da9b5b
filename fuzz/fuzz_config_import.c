/* fuzz_config_import.c -- the configuration import format (src/codec/config_json.c), as read
 * by `sureconnect import` and PUT /v1/config: any document is either rejected with a path
 * and a message, or accepted; an accepted one exports to a document that imports again to
 * the same export (what `export` writes, `import` takes back unchanged). */
#include <stdint.h>
#include <string.h>

#include "codec/config_json.h"
#include "core/errors.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config *cfg = NULL, *again = NULL;
    config_json_error err;
    int rc = config_json_parse((const char *)data, size, &cfg, &err);
    FUZZ_CHECK(rc == ERR_OK || rc == ERR_INVALID);
    FUZZ_CHECK((rc == ERR_OK) == (cfg != NULL));
    if (rc != ERR_OK) {
        FUZZ_CHECK(err.message[0] != '\0');
        FUZZ_CHECK(strlen(err.path) < sizeof err.path && strlen(err.message) < sizeof err.message);
        return 0;
    }
    json_t *dump = config_json_dump(cfg);
    FUZZ_CHECK(dump);
    char *text = json_dumps(dump, JSON_COMPACT);
    FUZZ_CHECK(text);
    rc = config_json_parse(text, strlen(text), &again, &err);
    if (rc != ERR_OK)
        fprintf(stderr, "export does not import again: %s: %s\n%s\n", err.path, err.message, text);
    FUZZ_CHECK(rc == ERR_OK);
    json_t *dump2 = config_json_dump(again);
    FUZZ_CHECK(dump2 && json_equal(dump, dump2));
    json_decref(dump2);
    free(text);
    json_decref(dump);
    config_free(again);
    config_free(cfg);
    return 0;
}
