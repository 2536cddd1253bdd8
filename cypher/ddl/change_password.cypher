// Change the password of the connected user (run on the system database of a new server).
// Parameters: $old (current password), $new (new password)
ALTER CURRENT USER SET PASSWORD FROM $old TO $new
