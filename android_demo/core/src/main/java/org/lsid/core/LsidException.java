package org.lsid.core;

/**
 * A frame, model file or setting the core cannot use. The message starts with the source
 * (file name, asset or camera id) and says what was expected, so the app can show it as one
 * line instead of crashing.
 */
public class LsidException extends Exception {
    private static final long serialVersionUID = 1L;

    public LsidException(String message) {
        super(message);
    }

    public LsidException(String message, Throwable cause) {
        super(message, cause);
    }
}
